/**
 * The operations modes of `queue-status`: `-metrics` (Prometheus text once),
 * `-check` (alert rules once, Nagios-style exit codes), `-serve` (the
 * dashboard and `/metrics` until SIGINT/SIGTERM) and `-workers` (live
 * workers). Each prints its result and returns the exit code.
 *
 * @module
 */

import type { QueueConfig } from "../config_types.ts";
import type { Manager } from "../manager.ts";
import { checkAlerts } from "../ops/alerts.ts";
import { startOpsServer } from "../ops/dashboard.ts";
import { prometheusText } from "../ops/prometheus.ts";
import { DEFAULT_ALIVE_MS } from "../ops/snapshot.ts";
import { formatTable } from "./table.ts";
import { drainOnSignals } from "./worker_main.ts";

/** The modes, in the order the help text names them. */
export const OPS_MODES = ["metrics", "check", "serve", "workers"] as const;

/** One of {@link OPS_MODES}. */
export type OpsMode = typeof OPS_MODES[number];

/** Where `-serve` listens when the config has no `http:` block. */
export const DEFAULT_SERVE_LISTEN = "127.0.0.1:8080";

/** Prints the Prometheus text exposition once. */
export async function printMetrics(manager: Manager): Promise<number> {
  await writeOut(await prometheusText(manager, { aliveMs: DEFAULT_ALIVE_MS }));
  return 0;
}

/**
 * Evaluates the config's alert rules once and prints one line per firing
 * rule (or one OK line); returns 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
 */
export async function runCheck(manager: Manager, config: QueueConfig): Promise<number> {
  const result = await checkAlerts(manager, config.alerts?.rules ?? [], {
    aliveMs: DEFAULT_ALIVE_MS,
  });
  for (const line of result.lines) console.log(line);
  return result.code;
}

/**
 * Serves the dashboard and `/metrics` (the config's `http:` block, else
 * 127.0.0.1:8080) until SIGINT or SIGTERM; prints the URL once listening.
 */
export async function serve(manager: Manager, config: QueueConfig): Promise<number> {
  const http = config.http ?? { listen: DEFAULT_SERVE_LISTEN };
  const server = await startOpsServer(manager, http, { aliveMs: DEFAULT_ALIVE_MS });
  const mode = server.readOnly ? " (read-only: no token set)" : "";
  console.log(`Dashboard on ${server.url}/ and metrics on ${server.url}/metrics${mode}.`);
  console.log("Press Ctrl+C to stop.");
  const { promise: stopped, resolve } = Promise.withResolvers<void>();
  const removeSignals = drainOnSignals(() => resolve());
  try {
    await stopped;
  } finally {
    removeSignals();
    await server.close();
  }
  return 0;
}

/** Lists the workers whose heartbeat is recent, as a table or JSON. */
export async function printWorkers(manager: Manager, json: boolean): Promise<number> {
  const workers = await manager.workers(DEFAULT_ALIVE_MS);
  workers.sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id));
  if (json) {
    console.log(JSON.stringify({ aliveMs: DEFAULT_ALIVE_MS, workers }, null, 2));
    return 0;
  }
  if (workers.length === 0) {
    console.log(
      `No live workers on ${manager.driver.target} (none beat in the last ${
        DEFAULT_ALIVE_MS / 1000
      } s).`,
    );
    return 0;
  }
  const now = await manager.driver.now();
  console.log(formatTable(
    ["ID", "HOST", "PID", "QUEUES", "STARTED", "LAST BEAT", "PROCESSED", "FAILED", "CURRENT JOB"],
    workers.map((w) => [
      w.id,
      w.host,
      w.pid,
      w.queues.join(","),
      new Date(w.startedAt).toISOString(),
      `${(Math.max(0, now - w.lastBeatAt) / 1000).toFixed(1)} s ago`,
      w.processed,
      w.failed,
      w.currentJob ?? "-",
    ]),
  ));
  return 0;
}

async function writeOut(text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += await Deno.stdout.write(bytes.subarray(written));
}
