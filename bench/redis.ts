/**
 * The Redis benchmark: our driver (through Manager and Worker), BullMQ and a
 * thin ioredis ceiling on the same no-op workload, producer and worker in
 * separate processes, Redis database 12 (flushed between measurements).
 * Run alone with `deno run -A bench/redis.ts --n=2000`, or through bench/main.ts.
 *
 * @module
 */

import { Redis } from "ioredis";
import {
  type BenchOptions,
  type BenchRow,
  latencyRows,
  parseBenchFlags,
  printTable,
  rate,
  runChild,
  spawnChild,
} from "./_harness.ts";
import type { RoleArgs, RoleResult, Subject } from "./redis_roles.ts";

const DB = 12;
const QUEUE = "bench";
const ROLES = new URL("./redis_roles.ts", import.meta.url);
const SUBJECTS: Subject[] = ["ours", "bullmq", "ceiling"];
const GOALS: Record<string, string> = {
  "enqueue one by one": ">= 9k/s",
  "enqueue bulk": ">= 200k/s",
  "drain c=16": ">= 1.5x bullmq",
  "pickup p50": "<= 0.5 ms (floor < 2 ms)",
  "pickup p99": "<= 1.5 ms",
  "delayed lateness p50": "<= 5 ms (floor 100 ms)",
};

async function flush(): Promise<void> {
  const redis = new Redis({
    host: "127.0.0.1",
    port: 6379,
    db: DB,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
  });
  redis.on("error", () => {});
  try {
    await redis.connect();
    await redis.flushdb();
  } finally {
    redis.disconnect();
  }
}

function child(
  subject: Subject,
  role: RoleArgs["role"],
  mode: RoleArgs["mode"],
  n: number,
  concurrency = 1,
  monitoring = true,
): RoleArgs {
  return { subject, role, mode, n, concurrency, db: DB, queue: QUEUE, monitoring };
}

function row(subject: Subject, metric: string, value: number, unit: BenchRow["unit"]): BenchRow {
  const versus = subject === "ours" ? ["bullmq", "ceiling"] : undefined;
  return {
    metric,
    subject,
    value,
    unit,
    versus,
    goal: subject === "ours" ? GOALS[metric] : undefined,
  };
}

async function enqueue(subject: Subject, mode: "one" | "bulk", n: number): Promise<number> {
  await flush();
  const result = await runChild<RoleResult>(ROLES, child(subject, "produce", mode, n));
  return rate(n, result.ms);
}

async function drain(
  subject: Subject,
  n: number,
  concurrency: number,
  monitoring = true,
): Promise<number> {
  await flush();
  await runChild<RoleResult>(ROLES, child(subject, "produce", "bulk", n));
  const work = child(subject, "work", "drain", n, concurrency, monitoring);
  const result = await runChild<RoleResult>(ROLES, work);
  return rate(n, result.ms);
}

/**
 * The cost of heartbeats and monitoring figures: drain at 16 in flight with
 * both on (the default) and off, alternating runs, best of three each.
 */
async function monitoringCost(n: number): Promise<BenchRow[]> {
  const on: number[] = [];
  const off: number[] = [];
  for (let i = 0; i < 3; i++) {
    on.push(await drain("ours", n, 16, true));
    off.push(await drain("ours", n, 16, false));
  }
  const [best, bare] = [Math.max(...on), Math.max(...off)];
  console.log(
    `monitoring cost at 16 in flight: ${(100 * (1 - best / bare)).toFixed(1)}% ` +
      `(on ${Math.round(best)} jobs/s, off ${Math.round(bare)} jobs/s; goal < 5%)`,
  );
  return [
    { metric: "drain c=16 monitoring on", subject: "ours", value: best, unit: "jobs/s" },
    { metric: "drain c=16 monitoring off", subject: "ours", value: bare, unit: "jobs/s" },
  ];
}

async function latency(
  subject: Subject,
  mode: "pickup" | "delayed",
  samples: number,
): Promise<number[]> {
  await flush();
  const worker = spawnChild<RoleResult>(ROLES, child(subject, "work", mode, samples));
  await worker.ready();
  await runChild<RoleResult>(ROLES, child(subject, "produce", mode, samples));
  const result = await Promise.race([
    worker.result,
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`${subject} ${mode}: the worker did not see every job`)),
        60_000,
      )
    ),
  ]).finally(() => worker.kill());
  return result.samples;
}

async function measure(subject: Subject, n: number): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  rows.push(row(subject, "enqueue one by one", await enqueue(subject, "one", n), "jobs/s"));
  rows.push(row(subject, "enqueue bulk", await enqueue(subject, "bulk", n), "jobs/s"));
  for (const concurrency of [1, 16, 64]) {
    rows.push(
      row(subject, `drain c=${concurrency}`, await drain(subject, n, concurrency), "jobs/s"),
    );
  }
  const pickup = await latency(subject, "pickup", Math.min(500, Math.ceil(n / 10)));
  const delayed = await latency(subject, "delayed", Math.min(100, Math.ceil(n / 20)));
  const extra = (metric: string) => ({
    versus: subject === "ours" ? ["bullmq", "ceiling"] : undefined,
    goal: subject === "ours" ? GOALS[metric] : undefined,
  });
  rows.push(...latencyRows("pickup", subject, pickup).map((r) => ({ ...r, ...extra(r.metric) })));
  rows.push(
    ...latencyRows("delayed lateness", subject, delayed).map((r) => ({ ...r, ...extra(r.metric) })),
  );
  return rows;
}

/** Runs every Redis measurement and prints the table; returns the rows. */
export async function run(options: BenchOptions): Promise<BenchRow[]> {
  try {
    await flush();
  } catch (error) {
    console.warn(
      `SKIPPED redis bench: Redis at 127.0.0.1:6379 is not reachable (${
        (error as Error).message
      }).`,
    );
    return [];
  }
  const rows: BenchRow[] = [];
  for (const subject of SUBJECTS) {
    console.error(`redis bench: measuring ${subject} (N = ${options.n})...`);
    rows.push(...await measure(subject, options.n));
  }
  console.error("redis bench: monitoring on vs off at 16 in flight...");
  rows.push(...await monitoringCost(options.n));
  await flush();
  const order = (r: BenchRow) => rows.findIndex((x) => x.metric === r.metric);
  rows.sort((a, b) => order(a) - order(b));
  printTable(
    `Redis: no-op jobs, N = ${options.n}, producer and worker in separate processes, DB ${DB}`,
    rows,
  );
  return rows;
}

if (import.meta.main) await run(parseBenchFlags(Deno.args));
