/**
 * Waking idle reserves without polling. One dedicated connection per queue
 * blocks on `BLMOVE ready ready LEFT LEFT`: it returns as soon as the ready
 * list is non-empty and, moving the head back onto the head, changes nothing,
 * so no job ever leaves Redis outside a script. Every reserve of this process
 * that waits on the queue shares that one blocking command.
 *
 * @module
 */

import type { RedisClient } from "./redis_connect.ts";

/** Seconds one blocking command lasts on the server before it is re-issued. */
const BLOCK_SECONDS = 5;
/** Pause before re-issuing after a transport error, so an outage does not spin. */
const RETRY_PAUSE_MS = 100;
/** How long past BLOCK_SECONDS a blocking command may stay unanswered before its socket is dropped. */
const DEAD_SOCKET_GRACE_MS = 3000;

/** Shares one blocking wait on a queue's ready list among this process's reserves. */
export class ReadyWatch {
  #client: RedisClient;
  #key: string;
  #sleepers = new Set<() => void>();
  #running = false;
  #closed = false;

  /** Watches `readyKey` over `client`, a connection used for nothing else. */
  constructor(client: RedisClient, readyKey: string) {
    this.#client = client;
    this.#key = readyKey;
    client.on("error", () => {/* the blocking command retries after the reconnect */});
  }

  /** Resolves when the ready list holds an entry, or when `signal` aborts or the watch closes. */
  wait(signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#sleepers.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.#sleepers.add(done);
      signal.addEventListener("abort", done, { once: true });
      void this.#loop();
    });
  }

  async #loop(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      while (this.#sleepers.size > 0 && !this.#closed) {
        // The server answers a blocking command within BLOCK_SECONDS; no answer
        // well past that means a half-open socket: drop it and reconnect.
        const deadline = setTimeout(
          () => this.#client.disconnect(true),
          BLOCK_SECONDS * 1000 + DEAD_SOCKET_GRACE_MS,
        );
        try {
          const head = await this.#client.blmove(
            this.#key,
            this.#key,
            "LEFT",
            "LEFT",
            BLOCK_SECONDS,
          );
          if (head !== null) this.#wakeAll();
        } catch {
          if (this.#closed) break;
          await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
        } finally {
          clearTimeout(deadline);
        }
      }
    } finally {
      this.#running = false;
    }
  }

  #wakeAll(): void {
    for (const wake of [...this.#sleepers]) wake();
  }

  /** Wakes every waiter and drops the connection. */
  close(): void {
    this.#closed = true;
    this.#wakeAll();
    this.#client.disconnect();
  }
}

/**
 * Resolves when any watched queue gets an entry, after `ms`, or when `signal`
 * aborts; then withdraws from the other watches.
 */
export function waitAny(
  watches: readonly ReadyWatch[],
  ms: number,
  signal?: AbortSignal,
): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  const done = new AbortController();
  const onAbort = () => done.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  const timer = new Promise<void>((resolve) => {
    const id = setTimeout(resolve, ms);
    done.signal.addEventListener("abort", () => {
      clearTimeout(id);
      resolve();
    }, { once: true });
  });
  const wakes = watches.map((watch) => watch.wait(done.signal));
  return Promise.race([timer, ...wakes]).finally(() => {
    signal?.removeEventListener("abort", onAbort);
    done.abort();
  });
}
