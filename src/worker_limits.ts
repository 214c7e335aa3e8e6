/**
 * The worker's limits, each a small named check: max jobs, max time, memory,
 * and the stop broadcast. A limit that trips ends the loop with its reason.
 *
 * @module
 */

/** Why a worker's loop ended. */
export type WorkerExitReason = "stopped" | "max_jobs" | "max_time" | "memory" | "stop_broadcast";

/** The worker's limits and the figures they are checked against. */
export interface LimitState {
  /** Jobs finished (success or failure) so far. */
  handled: number;
  /** When the worker started, by the local clock. */
  startedAt: number;
  /** Jobs before exit; 0: none. */
  maxJobs: number;
  /** Milliseconds before exit; 0: none. */
  maxTimeMs: number;
  /** RSS limit in MB; 0: none. */
  memoryMb: number;
  /** When RSS was last sampled (reading it costs a system call, so it is sampled). */
  memoryCheckedAt?: number;
}

/** The least time between two RSS samples. */
const MEMORY_SAMPLE_MS = 250;

/** True when the worker has handled as many jobs as it may. */
export function maxJobsReached(state: LimitState): boolean {
  return state.maxJobs > 0 && state.handled >= state.maxJobs;
}

/** True when the worker has run as long as it may. */
export function maxTimeReached(state: LimitState, now = Date.now()): boolean {
  return state.maxTimeMs > 0 && now - state.startedAt >= state.maxTimeMs;
}

/** This process's resident set size in MB. */
export function residentMb(): number {
  return Deno.memoryUsage().rss / (1024 * 1024);
}

/** True when the process uses more memory than allowed (RSS sampled every 250 ms at most). */
export function memoryExceeded(state: LimitState, now = Date.now()): boolean {
  if (state.memoryMb <= 0) return false;
  if (state.memoryCheckedAt !== undefined && now - state.memoryCheckedAt < MEMORY_SAMPLE_MS) {
    return false;
  }
  state.memoryCheckedAt = now;
  return residentMb() > state.memoryMb;
}

/** The first limit that trips, or undefined. */
export function trippedLimit(state: LimitState): WorkerExitReason | undefined {
  if (maxJobsReached(state)) return "max_jobs";
  if (maxTimeReached(state)) return "max_time";
  if (memoryExceeded(state)) return "memory";
  return undefined;
}

/** True when a stop was broadcast after this worker started (store clock). */
export function stopBroadcastSince(lastStopAt: number | null, startedAtStore: number): boolean {
  return lastStopAt !== null && lastStopAt >= startedAtStore;
}
