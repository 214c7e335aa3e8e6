/**
 * One consistent read of everything the operations features show: per-queue
 * counts and figures, live workers and the store's clock. Prometheus output,
 * alert rules and the dashboard all render the same {@link Snapshot}.
 *
 * @module
 */

import type { QueueConfig } from "../config_types.ts";
import type { FailedJob, QueueMetrics, QueueStats, WorkerBeat } from "../drivers/driver.ts";

/** Workers whose last beat is older than this are shown as dead (3 missed 5 s beats). */
export const DEFAULT_ALIVE_MS = 15_000;

/**
 * What the operations features need from a queue manager. `Manager` (src/manager.ts)
 * satisfies it; tests may pass any object of this shape.
 */
export interface OpsSource {
  /** The resolved configuration (configured queues, `processes`, `alerts`, `http`). */
  readonly config: QueueConfig;
  /** The connected driver; only its password-free `name` and `target` are shown. */
  readonly driver: { readonly name: string; readonly target: string; now(): Promise<number> };
  /** Counts of one queue. */
  stats(queue: string): Promise<QueueStats>;
  /** Queues that hold jobs, failed jobs or a pause flag. */
  queues(): Promise<string[]>;
  /** Workers whose last beat is newer than `aliveWithinMs`. */
  workers(aliveWithinMs: number): Promise<WorkerBeat[]>;
  /** The store's figures of one queue. */
  metrics(queue: string): Promise<QueueMetrics>;
  /** Failed jobs, newest first. */
  failedJobs(options?: { queue?: string; limit?: number; offset?: number }): Promise<FailedJob[]>;
  /** Removes ready, delayed and reserved jobs of a queue. */
  clear(queue: string): Promise<number>;
  /** Puts one failed job (or "all") back on its queue. */
  retryFailed(id: string): Promise<unknown>;
  /** Deletes one failed job. */
  forgetFailed(id: string): Promise<unknown>;
  /** Stops workers from taking jobs of the queue. */
  pause(queue: string): Promise<void>;
  /** Undoes `pause`. */
  resume(queue: string): Promise<void>;
}

/** One queue as the operations features see it. */
export interface QueueSnapshot {
  /** Counts from the store. */
  stats: QueueStats;
  /** Rolling figures from the store. */
  metrics: QueueMetrics;
  /** Whether the queue appears in `queue.queues` of the config. */
  configured: boolean;
  /** Worker processes the config asks for (0 when not configured). */
  processes: number;
  /** Live workers that serve this queue. */
  workersAlive: number;
  /** Milliseconds the oldest ready job has waited, 0 when none is ready. */
  oldestWaitMs: number;
}

/** Everything shown at one moment. */
export interface Snapshot {
  /** The store's clock when the snapshot was taken. */
  now: number;
  /** Driver name ("redis", "sqlite", ...). */
  driver: string;
  /** Where the driver connects, without secrets. */
  target: string;
  /** Queues, configured ones first in priority order, then the others by name. */
  queues: QueueSnapshot[];
  /** Live workers. */
  workers: WorkerBeat[];
  /** The alive window used for `workers`, in ms. */
  aliveMs: number;
}

/** Names of configured queues (highest priority first) followed by other known queues. */
export async function queueNames(source: OpsSource): Promise<string[]> {
  const configured = Object.entries(source.config.queues)
    .sort(([a, x], [b, y]) => y.priority - x.priority || a.localeCompare(b))
    .map(([name]) => name);
  const known = (await source.queues()).filter((name) => !configured.includes(name));
  return [...configured, ...known.sort()];
}

/** Reads counts, figures and live workers for every known queue. */
export async function collectSnapshot(
  source: OpsSource,
  options: { aliveMs?: number } = {},
): Promise<Snapshot> {
  const aliveMs = options.aliveMs ?? DEFAULT_ALIVE_MS;
  const [names, workers, now] = await Promise.all([
    queueNames(source),
    source.workers(aliveMs),
    source.driver.now(),
  ]);
  const queues = await Promise.all(names.map(async (name): Promise<QueueSnapshot> => {
    const [stats, metrics] = await Promise.all([source.stats(name), source.metrics(name)]);
    const settings = source.config.queues[name];
    return {
      stats,
      metrics,
      configured: settings !== undefined,
      processes: settings?.processes ?? 0,
      workersAlive: workers.filter((worker) => worker.queues.includes(name)).length,
      oldestWaitMs: stats.oldestReadyAt === null ? 0 : Math.max(0, now - stats.oldestReadyAt),
    };
  }));
  return {
    now,
    driver: source.driver.name,
    target: source.driver.target,
    queues,
    workers,
    aliveMs,
  };
}

const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi;
const PASSWORD_PAIR =
  /((?:password|passwd|pwd|token|secret)\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&]+)/gi;

/**
 * Hides passwords in text shown to operators: the password of `scheme://user:pass@host`
 * URLs and `password=...`-style pairs become `***`.
 *
 * @example
 * ```ts
 * import { redactSecrets } from "./snapshot.ts";
 * console.log(redactSecrets("redis://app:s3cret@db:6379/0")); // redis://app:***@db:6379/0
 * ```
 */
export function redactSecrets(text: string): string {
  return text.replace(URL_CREDENTIALS, "$1***@").replace(PASSWORD_PAIR, "$1***");
}
