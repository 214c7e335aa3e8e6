/**
 * The `worker` executable: one worker process over the configured queues in
 * priority order (or the ones `-queue=a,b` names). It drains on SIGTERM and
 * SIGINT (Ctrl+C / Ctrl+Break on Windows): the jobs in flight finish, then it
 * exits. The queue service runs the same code in each of its worker processes.
 *
 * @example A worker of your own, with your job classes compiled in:
 * ```ts ignore
 * // my_worker.ts; deno compile -A -o worker my_worker.ts
 * import "./app/jobs.ts";
 * import { workerMain } from "jsr:@scaffold/queue/cli";
 * Deno.exit(await workerMain(Deno.args));
 * ```
 *
 * @module
 */

import type { QueueConfig } from "../config_types.ts";
import { assertQueueName } from "../errors.ts";
import { handlersFromConfig } from "../handlers.ts";
import { registerRawHandler } from "../job_registry.ts";
import { type Logger, loggerFromConfig } from "../log.ts";
import type { Manager } from "../manager.ts";
import { Worker, type WorkerEvent, type WorkerExit, type WorkerOptions } from "../worker.ts";
import { CHILD_ENV, encodeMessage, readLines } from "../worker_protocol.ts";
import { CONFIG_ENV } from "../worker_process.ts";
import { type FlagSpec, type FlagValues, UsageError } from "./flags.ts";
import { configFromFlags, openManager } from "./connect.ts";
import { runMain } from "./run.ts";
import { importJobModules } from "./job_modules.ts";

/** The flags of `worker`. */
export const WORKER_FLAGS: FlagSpec[] = [
  {
    name: "config",
    type: "string",
    placeholder: "PATH",
    description: "Config file (default: configs/config.yaml, else the embedded SQLite default).",
  },
  {
    name: "queue",
    type: "string",
    placeholder: "a,b",
    description:
      "Queues to serve, highest priority first (default: every configured queue by priority).",
  },
  {
    name: "concurrency",
    type: "number",
    placeholder: "N",
    description: "Jobs in flight at once (default: queue.worker.concurrency).",
  },
  {
    name: "max-jobs",
    type: "number",
    placeholder: "N",
    description: "Exit after N jobs (default: queue.worker.max_jobs).",
  },
  {
    name: "max-time",
    type: "number",
    placeholder: "SECONDS",
    description: "Exit after this many seconds (default: queue.worker.max_time).",
  },
  {
    name: "memory",
    type: "number",
    placeholder: "MB",
    description: "Exit when RSS passes this (default: queue.worker.memory).",
  },
  {
    name: "sleep",
    type: "number",
    placeholder: "SECONDS",
    description: "Longest idle wait (default: queue.worker.sleep).",
  },
  { name: "v", type: "boolean", description: "Verbose: a line for every job started and done." },
  { name: "debug", type: "boolean", description: "Debug logging." },
];

const HELP = {
  program: "worker",
  summary:
    "runs one worker process over the configured queues (for systemd, NSSM and launchd); SIGTERM or Ctrl+C drains it.",
  examples: ["worker", "worker -config=configs/production.yaml", "worker -queue=high,default -v"],
};

/** The queues to serve: `-queue=a,b` as given, else every configured queue by priority. */
export function queueOrder(config: QueueConfig, selected?: string): string[] {
  if (selected !== undefined) {
    const names = selected.split(",").map((name) => name.trim()).filter(Boolean);
    if (names.length === 0) throw new UsageError("Flag -queue needs at least one queue name.");
    for (const name of names) {
      try {
        assertQueueName(name);
      } catch (error) {
        throw new UsageError(`Flag -queue: ${(error as Error).message}`);
      }
    }
    return names;
  }
  const entries = Object.entries(config.queues);
  if (entries.length === 0) return [config.defaultQueue];
  return entries.sort(([, a], [, b]) => b.priority - a.priority).map(([name]) => name);
}

/**
 * The worker options the flags override; the rest (and each queue's timeout,
 * tries and backoff) come from the config through the Manager.
 */
export function workerOptions(config: QueueConfig, flags: FlagValues = {}): WorkerOptions {
  const w = config.worker;
  const num = (name: string): number | undefined => flags[name] as number | undefined;
  const seconds = (name: string, fallback: number): number =>
    num(name) !== undefined ? num(name)! * 1000 : fallback;
  return {
    sleep: seconds("sleep", w.sleepMs),
    maxJobs: num("max-jobs") ?? w.maxJobs,
    maxTime: seconds("max-time", w.maxTimeMs),
    rest: w.restMs,
    memory: num("memory") ?? w.memoryMb,
    concurrency: num("concurrency") ?? w.concurrency,
  };
}

/** Registers the config's command/URL handlers as raw handlers of their queues. */
export function registerConfigHandlers(config: QueueConfig): void {
  for (const [queue, handler] of handlersFromConfig(config.handlers)) {
    registerRawHandler(queue, handler);
  }
}

/** Drains `worker` on SIGTERM/SIGINT (SIGINT/SIGBREAK on Windows); returns the remover. */
export function drainOnSignals(drain: () => void): () => void {
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGTERM", "SIGINT"];
  for (const signal of signals) Deno.addSignalListener(signal, drain);
  return () => {
    for (const signal of signals) Deno.removeSignalListener(signal, drain);
  };
}

const encoder = new TextEncoder();

function reportToService(message: Parameters<typeof encodeMessage>[0]): void {
  Deno.stdout.writeSync(encoder.encode(encodeMessage(message)));
}

/** Drains when the queue service writes `drain` or goes away (stdin closes). */
async function listenToService(drain: () => void): Promise<void> {
  try {
    for await (const line of readLines(Deno.stdin.readable)) {
      if (line.trim() === "drain") break;
    }
  } catch {
    // stdin unusable: treat as the service gone.
  }
  drain();
}

function onEvent(logger: Logger, supervised: boolean, config: QueueConfig) {
  return (event: WorkerEvent): void => {
    if (event.type === "error") {
      logger.error(`worker loop error on ${event.queue}: ${event.error?.message ?? "unknown"}`);
      return;
    }
    const type = event.type;
    logger.job({ ...event, type, error: event.error?.message });
    if (!supervised) return;
    if (event.type === "started") {
      const timeoutMs = (event as { timeoutMs?: number }).timeoutMs ??
        config.queues[event.queue]?.timeoutMs ?? config.worker.timeoutMs;
      reportToService({ ev: "started", job: event.jobId, queue: event.queue, timeoutMs });
    } else if (event.settled) {
      // A timed-out handler still runs: the service kills this process unless it returns.
      event.settled.then(() => reportToService({ ev: "finished", job: event.jobId }));
    } else {
      reportToService({ ev: "finished", job: event.jobId });
    }
  };
}

/** Runs a worker until it drains or a limit ends it; returns how it ended. */
export async function runWorker(
  manager: Manager,
  config: QueueConfig,
  queues: string[],
  options: { logger: Logger; supervised?: boolean; flags?: FlagValues },
): Promise<WorkerExit> {
  const { logger, supervised = false } = options;
  const worker = new Worker(manager, queues, {
    ...workerOptions(config, options.flags),
    onEvent: onEvent(logger, supervised, config),
  });
  let draining = false;
  const drain = (): void => {
    if (draining) return;
    draining = true;
    logger.info(`draining: finishing the jobs in flight on ${queues.join(", ")}`);
    worker.stop().catch(() => {});
  };
  const removeSignals = drainOnSignals(drain);
  if (supervised) {
    listenToService(drain);
    reportToService({ ev: "ready", pid: Deno.pid });
  }
  if (!supervised) { for (const warning of config.warnings) logger.warn(warning); }
  logger.info(`worker ${Deno.pid} serving ${queues.join(", ")} on ${manager.driver.target}`);
  try {
    const exit = await worker.start();
    logger.info(
      `worker ${Deno.pid} exits (${exit.reason}) after ${exit.processed} jobs, ${exit.failed} failed`,
    );
    if (supervised) reportToService({ ev: "exit", ...exit });
    return exit;
  } finally {
    removeSignals();
  }
}

/** Runs the worker the flags describe; returns the exit code. */
async function work(flags: FlagValues): Promise<number> {
  const supervised = Deno.env.get(CHILD_ENV) !== undefined;
  const inherited = Deno.env.get(CONFIG_ENV);
  const config: QueueConfig = supervised && inherited
    ? JSON.parse(inherited)
    : await configFromFlags(flags.config as string | undefined);
  if (supervised) {
    Deno.env.delete(CHILD_ENV);
    Deno.env.delete(CONFIG_ENV);
  }
  const logger = loggerFromConfig(config.log, {
    verbose: flags.v as boolean,
    debug: flags.debug as boolean,
    name: "worker",
  });
  try {
    const queues = queueOrder(config, flags.queue as string | undefined);
    await importJobModules(config.jobs);
    registerConfigHandlers(config);
    const manager = await openManager(config);
    try {
      await runWorker(manager, config, queues, { logger, supervised, flags });
    } finally {
      await manager.close();
    }
    return 0;
  } finally {
    logger.close();
  }
}

/**
 * The `worker` executable. With no flag it runs (as the seed's `./worker.exe`);
 * returns the exit code: 0 after draining, 2 on a usage error, 1 on a runtime error.
 */
export function main(args: readonly string[] = Deno.args): Promise<number> {
  return runMain(HELP, WORKER_FLAGS, args, work, false);
}

/** True when this process was started by the queue service as one of its workers. */
export function isServiceChild(): boolean {
  return Deno.env.get(CHILD_ENV) !== undefined;
}

/**
 * In a worker process spawned by the queue service, runs the worker with the
 * flags the service passed and returns its exit code; elsewhere returns null.
 */
export async function runServiceChild(): Promise<number | null> {
  const passed = Deno.env.get(CHILD_ENV);
  if (passed === undefined) return null;
  return await main(JSON.parse(passed) as string[]);
}
