/**
 * The `queue-status` executable: the state of the queues, as a table or JSON,
 * and the operations modes (see `queue_status_ops.ts`).
 *
 * @module
 */

import type { QueueConfig } from "../config_types.ts";
import type { Manager } from "../manager.ts";
import { type FlagSpec, type FlagValues, UsageError } from "./flags.ts";
import { configFromFlags, DRIVER_CHOICES, openManager } from "./connect.ts";
import { errorSentence, runMain } from "./run.ts";
import { formatTable } from "./table.ts";
import { DEFAULT_ALIVE_MS } from "../ops/snapshot.ts";
import {
  OPS_MODES,
  type OpsMode,
  printMetrics,
  printWorkers,
  runCheck,
  serve,
} from "./queue_status_ops.ts";

/** The flags of `queue-status`. */
export const STATUS_FLAGS: FlagSpec[] = [
  {
    name: "all",
    type: "boolean",
    description: "Show every queue: priority, ready, delayed, reserved, failed, workers alive.",
  },
  { name: "queue", type: "string", placeholder: "NAME", description: "Show one queue in detail." },
  {
    name: "driver",
    type: "string",
    placeholder: "NAME",
    choices: DRIVER_CHOICES,
    description: "Read that driver's store (redis, database, sqlite) from the same config.",
  },
  {
    name: "workers",
    type: "boolean",
    description:
      "List live workers: id, host, pid, queues, started, last beat, processed, failed, current job.",
  },
  {
    name: "metrics",
    type: "boolean",
    description: "Print the Prometheus metrics once (for cron or a textfile collector).",
  },
  {
    name: "check",
    type: "boolean",
    description:
      "Evaluate the config's alert rules once, a line per firing rule; exit 0 ok, 1 warning, 2 critical, 3 unknown.",
  },
  {
    name: "serve",
    type: "boolean",
    description:
      "Serve the dashboard and /metrics (the config's http: block, else 127.0.0.1:8080) until Ctrl+C.",
  },
  {
    name: "json",
    type: "boolean",
    description: "Print JSON (with -all, -queue or -workers), for scripts and monitoring.",
  },
  {
    name: "config",
    type: "string",
    placeholder: "PATH",
    description: "Config file (default: configs/config.yaml, else the embedded SQLite default).",
  },
  { name: "debug", type: "boolean", description: "Print stack traces of errors." },
];

const HELP = {
  program: "queue-status",
  summary: "shows the state of the queues.",
  examples: [
    "queue-status -all",
    "queue-status -queue=default",
    "queue-status -queue=high -driver=database",
    "queue-status -all -json",
    "queue-status -workers",
    "queue-status -metrics > /var/lib/node_exporter/queue.prom",
    "queue-status -check",
    "queue-status -serve",
  ],
};

/** One row of `queue-status -all`. */
export interface QueueStatusRow {
  /** Queue name. */
  queue: string;
  /** Driver name. */
  driver: string;
  /** Configured priority, or null for a queue only the store knows. */
  priority: number | null;
  /** Configured worker processes, or null. */
  processes: number | null;
  /** Jobs available now. */
  ready: number;
  /** Jobs waiting for their delay. */
  delayed: number;
  /** Jobs held by workers. */
  reserved: number;
  /** Jobs in the failed store. */
  failed: number;
  /** Whether the queue is paused. */
  paused: boolean;
  /** Workers serving the queue whose heartbeat is recent. */
  workers: number;
  /** Milliseconds the oldest ready job has waited, or null. */
  oldestWaitMs: number | null;
}

/** Configured queues by priority, then any other queue the store holds. */
export async function queueNames(manager: Manager, config: QueueConfig): Promise<string[]> {
  const configured = Object.entries(config.queues)
    .sort(([, a], [, b]) => b.priority - a.priority)
    .map(([name]) => name);
  const stored = await manager.queues();
  return [...configured, ...stored.filter((name) => !configured.includes(name)).sort()];
}

/** Collects the status rows of `names`. */
export async function statusRows(
  manager: Manager,
  config: QueueConfig,
  names: string[],
): Promise<QueueStatusRow[]> {
  const [now, workers, stats] = await Promise.all([
    manager.driver.now(),
    manager.workers(DEFAULT_ALIVE_MS).catch(() => []),
    Promise.all(names.map((name) => manager.stats(name))),
  ]);
  return stats.map((s) => ({
    queue: s.queue,
    driver: config.driver,
    priority: config.queues[s.queue]?.priority ?? null,
    processes: config.queues[s.queue]?.processes ?? null,
    ready: s.ready,
    delayed: s.delayed,
    reserved: s.reserved,
    failed: s.failed,
    paused: s.paused,
    workers: workers.filter((w) => w.queues.includes(s.queue)).length,
    oldestWaitMs: s.oldestReadyAt === null ? null : Math.max(0, now - s.oldestReadyAt),
  }));
}

function printTable(rows: QueueStatusRow[], target: string): void {
  console.log(`Driver ${rows[0]?.driver ?? ""} at ${target}`);
  console.log(formatTable(
    [
      "QUEUE",
      "DRIVER",
      "PRIORITY",
      "READY",
      "DELAYED",
      "RESERVED",
      "FAILED",
      "WORKERS ALIVE",
    ],
    rows.map((r) => [
      r.queue + (r.paused ? " (paused)" : ""),
      r.driver,
      r.priority ?? "-",
      r.ready,
      r.delayed,
      r.reserved,
      r.failed,
      r.workers,
    ]),
  ));
}

async function printQueue(
  manager: Manager,
  config: QueueConfig,
  name: string,
  json: boolean,
): Promise<void> {
  const [row] = await statusRows(manager, config, [name]);
  const metrics = await manager.metrics(name).catch(() => null);
  const detail = {
    ...row,
    size: row.ready + row.delayed + row.reserved,
    target: manager.driver.target,
    processedTotal: metrics?.processedTotal ?? null,
    failedTotal: metrics?.failedTotal ?? null,
    durationP50Ms: metrics?.durationP50 ?? null,
    durationP95Ms: metrics?.durationP95 ?? null,
  };
  if (json) {
    console.log(JSON.stringify(detail, null, 2));
    return;
  }
  const lines: [string, unknown][] = [
    ["Queue", name + (config.queues[name] ? "" : " (not in the config)")],
    ["Driver", `${row.driver} (${detail.target})`],
    ["Priority", row.priority ?? "-"],
    ["Processes", row.processes ?? "-"],
    ["Size", detail.size],
    ["Ready", row.ready],
    ["Delayed", row.delayed],
    ["Reserved", row.reserved],
    ["Failed", row.failed],
    ["Paused", row.paused ? "yes" : "no"],
    [
      "Oldest ready",
      row.oldestWaitMs === null ? "-" : `${(row.oldestWaitMs / 1000).toFixed(1)} s ago`,
    ],
    ["Workers alive", row.workers],
    ["Processed (total)", detail.processedTotal ?? "-"],
    ["Failed (total)", detail.failedTotal ?? "-"],
  ];
  for (const [key, value] of lines) console.log(`${(key + ":").padEnd(19)}${value}`);
}

/** The operations mode the flags ask for, or null for a status table; refuses bad combinations. */
function chosenMode(flags: FlagValues): OpsMode | null {
  const modes = OPS_MODES.filter((mode) => flags[mode]);
  if (modes.length > 1) {
    throw new UsageError(`Flags -${modes[0]} and -${modes[1]} cannot be used together.`);
  }
  const mode = modes[0] ?? null;
  if (mode === null) {
    if (!flags.all && flags.queue === undefined && flags.driver === undefined) {
      throw new UsageError(
        "Give -all, -queue=NAME, -driver=NAME, -workers, -metrics, -check or -serve; run with -help to see the flags.",
      );
    }
    return null;
  }
  const table = flags.all ? "all" : flags.queue !== undefined ? "queue" : null;
  if (table) throw new UsageError(`Flags -${mode} and -${table} cannot be used together.`);
  if (flags.json && mode !== "workers") {
    throw new UsageError(`Flag -json does not work with -${mode}.`);
  }
  return mode;
}

/** -check: a store or config that cannot be read is UNKNOWN (exit 3), as monitors expect. */
async function check(flags: FlagValues): Promise<number> {
  let manager: Manager;
  let config: QueueConfig;
  try {
    config = await configFromFlags(
      flags.config as string | undefined,
      flags.driver as string | undefined,
    );
    manager = await openManager(config);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    console.log(`UNKNOWN: ${errorSentence(error)}`);
    return 3;
  }
  try {
    return await runCheck(manager, config);
  } finally {
    await manager.close();
  }
}

async function status(flags: FlagValues): Promise<number> {
  const mode = chosenMode(flags);
  if (mode === "check") return await check(flags);
  const config = await configFromFlags(
    flags.config as string | undefined,
    flags.driver as string | undefined,
  );
  const manager = await openManager(config);
  try {
    if (mode === "metrics") return await printMetrics(manager);
    if (mode === "serve") return await serve(manager, config);
    if (mode === "workers") return await printWorkers(manager, Boolean(flags.json));
    if (flags.queue !== undefined && !flags.all) {
      await printQueue(manager, config, flags.queue as string, Boolean(flags.json));
      return 0;
    }
    const rows = await statusRows(manager, config, await queueNames(manager, config));
    if (flags.json) {
      console.log(
        JSON.stringify(
          { driver: config.driver, target: manager.driver.target, queues: rows },
          null,
          2,
        ),
      );
    } else {
      printTable(rows, manager.driver.target);
    }
    return 0;
  } finally {
    await manager.close();
  }
}

/** The `queue-status` executable; returns the exit code (0, 1 on a runtime error, 2 on a usage error). */
export function main(args: readonly string[] = Deno.args): Promise<number> {
  return runMain(HELP, STATUS_FLAGS, args, status);
}
