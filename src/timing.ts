/**
 * Timing for the worker: running a handler under a timeout that aborts its
 * signal, and delays that end early when the worker stops.
 *
 * @module
 */

import type { ReservedJob } from "./drivers/driver.ts";
import { JobTimeoutError } from "./errors.ts";
import type { JobInterface } from "./job.ts";

type Timer = ReturnType<typeof setTimeout>;

/** Runs `handle()`; after `timeoutMs` aborts its signal and rejects with JobTimeoutError. */
export async function runWithTimeout(
  job: JobInterface,
  reserved: ReservedJob,
  timeoutMs: number,
): Promise<void> {
  const controller = new AbortController();
  let timer: Timer | undefined;
  let handling: Promise<void> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    if (timeoutMs <= 0) return;
    timer = setTimeout(() => {
      const error = new JobTimeoutError(timeoutMs);
      error.settled = handling!.then(() => {}, () => {});
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  const context = {
    signal: controller.signal,
    attempt: reserved.attempts,
    jobId: reserved.id,
    queue: reserved.queue,
  };
  try {
    handling = Promise.resolve().then(() => job.handle(context));
    await Promise.race([handling, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
