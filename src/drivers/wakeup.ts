/**
 * In-process wake-ups: a waiting `reserve` sleeps until a push in the same
 * process (or a file event, for SQLite) calls `notify()`, the timeout passes,
 * or its signal aborts. Nothing polls.
 *
 * @module
 */

/** A set of sleepers that one `notify()` wakes together. */
export class Wakeup {
  #sleepers = new Set<() => void>();

  /** Resolves on the next `notify()`, after `ms`, or when `signal` aborts. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (ms <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#sleepers.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#sleepers.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  /** Wakes every current sleeper. */
  notify(): void {
    for (const wake of [...this.#sleepers]) wake();
  }

  /** Number of sleepers waiting now. */
  get waiting(): number {
    return this.#sleepers.size;
  }
}
