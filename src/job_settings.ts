/**
 * How a job's effective settings are chosen: the job's own value, else the
 * worker's explicit option, else the queue's config, else the seed's default.
 *
 * @module
 */

import type { QueueSettings } from "./config_types.ts";
import type { WirePayload } from "./wire.ts";

/** The settings that decide one attempt's fate. */
export interface JobSettings {
  /** Attempts allowed in all. */
  maxAttempts: number;
  /** Milliseconds one attempt may run; 0: no limit. */
  timeoutMs: number;
  /** Delays before each retry; the last repeats. */
  backoffMs: number[];
  /** Delay before a retry when `backoffMs` is empty. */
  retryAfterMs: number;
}

/** Worker-level overrides (from WorkerOptions), each optional. */
export interface SettingOverrides {
  /** Attempts allowed. */
  tries?: number;
  /** Timeout in ms. */
  timeout?: number;
  /** Backoff in ms. */
  backoff?: number[];
}

/** Resolves the settings for one job; `fallback` is the config's `queue.worker` block. */
export function resolveJobSettings(
  payload: WirePayload | undefined,
  overrides: SettingOverrides,
  queue: QueueSettings | undefined,
  fallback: { tries: number; timeoutMs: number },
): JobSettings {
  return {
    maxAttempts: Math.max(
      1,
      payload?.maxAttempts ?? overrides.tries ?? queue?.tries ?? fallback.tries,
    ),
    timeoutMs: payload?.timeoutMs ?? overrides.timeout ?? queue?.timeoutMs ?? fallback.timeoutMs,
    backoffMs: payload?.backoffMs ?? overrides.backoff ?? queue?.backoffMs ?? [],
    retryAfterMs: payload?.retryAfterMs ?? 0,
  };
}

/**
 * The delay before the next attempt after `attempts` failed ones:
 * backoff[attempts - 1], the last value repeating; retryAfter when empty.
 */
export function retryDelay(settings: JobSettings, attempts: number): number {
  const { backoffMs } = settings;
  if (backoffMs.length === 0) return settings.retryAfterMs;
  return backoffMs[Math.min(Math.max(attempts, 1), backoffMs.length) - 1];
}
