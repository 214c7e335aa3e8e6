/**
 * SQL benchmark: SQLite (synchronous NORMAL and FULL) and MariaDB through the
 * library's Manager and Worker, with the ceilings measured in the same run: a
 * raw SQLite jobs-table loop and a hand-written mysql2 SKIP LOCKED claim loop.
 * Producer and worker always run in separate processes.
 *
 * Run: `deno run -A bench/sql.ts --n=2000` (or through bench/main.ts).
 *
 * @module
 */

import mysql from "mysql2/promise";
import { DatabaseSync } from "node:sqlite";
import { defaultConfig } from "../src/config.ts";
import type { QueueConfig } from "../src/config_types.ts";
import { BaseJob } from "../src/job.ts";
import { registerJob } from "../src/job_registry.ts";
import { Manager } from "../src/manager.ts";
import { Worker } from "../src/worker.ts";
import {
  type BenchOptions,
  type BenchRow,
  childArgs,
  latencyRows,
  parseBenchFlags,
  printTable,
  rate,
  report,
  runChild,
  signalReady,
  spawnChild,
} from "./_harness.ts";

const SELF = new URL(import.meta.url);
const QUEUE = "bench";
const MYSQL = { host: "127.0.0.1", port: 3306, username: "root", password: "" };

/** A no-op job that notes how late it started, for the latency figures. */
class NoopJob extends BaseJob {
  sentAt = 0;
  dueAt = 0;
  /** Records the lateness when a latency sample is being taken. */
  handle(): void {
    if (this.dueAt > 0) samples.push(Date.now() - this.dueAt);
  }
}
registerJob(NoopJob);
const samples: number[] = [];

type StoreSpec = { driver: "sqlite"; path: string; synchronous: "NORMAL" | "FULL" } | {
  driver: "database";
  database: string;
};

function configFor(store: StoreSpec): QueueConfig {
  const config = defaultConfig();
  if (store.driver === "sqlite") {
    return {
      ...config,
      driver: "sqlite",
      sqlite: { path: store.path, synchronous: store.synchronous, busyTimeoutMs: 5000 },
    };
  }
  return {
    ...config,
    driver: "database",
    mysql: {
      ...config.mysql,
      ...MYSQL,
      database: store.database,
      maxOpenConns: 70,
      maxIdleConns: 70,
    },
  };
}

const noop = (dueAt = 0) => Object.assign(new NoopJob({ queue: QUEUE }), { dueAt });

// ---- child roles -------------------------------------------------------------

type ChildTask =
  | { role: "enqueue"; store: StoreSpec; n: number; bulk: boolean }
  | { role: "drain"; store: StoreSpec; n: number; concurrency: number }
  | { role: "latency"; store: StoreSpec; k: number; sleep: number }
  | { role: "raw-sqlite"; path: string; synchronous: string; n: number }
  | { role: "raw-mysql"; database: string; n: number; inflight: number };

async function childEnqueue(task: Extract<ChildTask, { role: "enqueue" }>): Promise<unknown> {
  const manager = new Manager(configFor(task.store));
  await manager.connect();
  const started = performance.now();
  if (task.bulk) {
    for (let i = 0; i < task.n; i += 1000) {
      await manager.pushBulk(Array.from({ length: Math.min(1000, task.n - i) }, () => noop()));
    }
  } else {
    for (let i = 0; i < task.n; i++) await manager.pushRaw(QUEUE, "{}");
  }
  const ms = performance.now() - started;
  await manager.close();
  return { ms };
}

async function childDrain(task: Extract<ChildTask, { role: "drain" }>): Promise<unknown> {
  const manager = new Manager(configFor(task.store));
  await manager.connect();
  let done = 0, settled = 0;
  const worker: Worker = new Worker(manager, [QUEUE], {
    concurrency: task.concurrency,
    sleep: 1000,
    heartbeatMs: 0,
    onEvent: (event) => {
      if (event.type === "done") done++;
      if (["done", "failed", "invalid"].includes(event.type) && ++settled === task.n) worker.stop();
    },
  });
  const started = performance.now();
  await worker.start();
  const ms = performance.now() - started;
  await manager.close();
  return { ms, done };
}

async function childLatency(task: Extract<ChildTask, { role: "latency" }>): Promise<unknown> {
  let settled = 0;
  const manager = new Manager(configFor(task.store));
  await manager.connect();
  const worker: Worker = new Worker(manager, [QUEUE], {
    concurrency: 1,
    sleep: task.sleep,
    heartbeatMs: 0,
    onEvent: (event) => {
      if (["done", "failed", "invalid"].includes(event.type) && ++settled >= task.k) worker.stop();
    },
  });
  const running = worker.start();
  setTimeout(() => signalReady(), 500);
  await running;
  await manager.close();
  return { samples };
}

// ---- parent ------------------------------------------------------------------

async function measureStore(label: string, store: StoreSpec, n: number): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const manager = new Manager(configFor(store));
  await manager.connect();
  const ceiling = `${label} raw`;
  for (const bulk of [false, true]) {
    await manager.clear(QUEUE);
    const { ms } = await runChild<{ ms: number }>(SELF, { role: "enqueue", store, n, bulk });
    rows.push({
      metric: bulk ? "enqueue bulk" : "enqueue",
      subject: label,
      value: rate(n, ms),
      unit: "jobs/s",
    });
  }
  for (const concurrency of [1, 16, 64]) {
    await manager.clear(QUEUE);
    for (let i = 0; i < n; i += 1000) {
      await manager.pushBulk(Array.from({ length: Math.min(1000, n - i) }, () => noop()));
    }
    const { ms } = await runChild<{ ms: number }>(SELF, { role: "drain", store, n, concurrency });
    rows.push({
      metric: `drain c=${concurrency}`,
      subject: label,
      value: rate(n, ms),
      unit: "jobs/s",
      versus: concurrency === (store.driver === "sqlite" ? 1 : 16) ? ceiling : undefined,
    });
  }
  await manager.clear(QUEUE);
  const k = store.driver === "sqlite" ? Math.min(200, Math.max(20, n / 100)) : 20;
  const sleep = store.driver === "sqlite" ? 3000 : 1000;
  const pickup = await sampleLatency(manager, store, k, sleep, 0);
  const delayed = await sampleLatency(manager, store, k, sleep, 300);
  rows.push(...latencyRows(`pickup (sleep ${sleep} ms)`, label, pickup));
  rows.push(...latencyRows("delayed lateness", label, delayed));
  await manager.close();
  return rows;
}

/** Pushes k jobs, one at a time, to an idle worker in another process; returns how late each started. */
async function sampleLatency(
  manager: Manager,
  store: StoreSpec,
  k: number,
  sleep: number,
  delayMs: number,
): Promise<number[]> {
  const child = spawnChild<{ samples: number[] }>(SELF, { role: "latency", store, k, sleep });
  await child.ready();
  for (let i = 0; i < k; i++) {
    await manager.push(noop(Date.now() + delayMs).delay(delayMs));
    await new Promise((resolve) => setTimeout(resolve, delayMs > 0 ? 40 : 25));
  }
  return (await child.result).samples;
}

/** The ceiling: a raw jobs table, INSERT one by one, then claim/ack one at a time. */
function rawSqlite(task: Extract<ChildTask, { role: "raw-sqlite" }>): unknown {
  const db = new DatabaseSync(task.path);
  db.exec(
    `PRAGMA journal_mode = WAL; PRAGMA synchronous = ${task.synchronous}; PRAGMA busy_timeout = 5000`,
  );
  db.exec(`CREATE TABLE IF NOT EXISTS raw_jobs (id INTEGER PRIMARY KEY, payload TEXT NOT NULL,
    available_at INTEGER NOT NULL, reserved_until INTEGER)`);
  db.exec("CREATE INDEX IF NOT EXISTS raw_jobs_due ON raw_jobs (available_at)");
  const insert = db.prepare("INSERT INTO raw_jobs (payload, available_at) VALUES (?, ?)");
  let started = performance.now();
  for (let i = 0; i < task.n; i++) insert.run("{}", Date.now());
  const enqueueMs = performance.now() - started;
  const pick = db.prepare(
    "SELECT id FROM raw_jobs WHERE available_at <= ? ORDER BY available_at LIMIT 1",
  );
  const hold = db.prepare("UPDATE raw_jobs SET available_at = ?, reserved_until = ? WHERE id = ?");
  const ack = db.prepare("DELETE FROM raw_jobs WHERE id = ?");
  started = performance.now();
  while (true) {
    db.exec("BEGIN IMMEDIATE");
    const row = pick.get(Date.now()) as { id: number } | undefined;
    if (row) hold.run(Date.now() + 60_000, Date.now() + 60_000, row.id);
    db.exec("COMMIT");
    if (!row) break;
    ack.run(row.id);
  }
  const drainMs = performance.now() - started;
  db.close();
  return { enqueueMs, drainMs };
}

/** The ceiling: mysql2 with a minimal SKIP LOCKED claim-one loop, `inflight` loops at once. */
async function rawMysql(task: Extract<ChildTask, { role: "raw-mysql" }>): Promise<unknown> {
  const pool = mysql.createPool({
    host: MYSQL.host,
    port: MYSQL.port,
    user: MYSQL.username,
    database: task.database,
    connectionLimit: task.inflight + 2,
  });
  pool.on(
    "connection",
    (conn) => conn.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"),
  );
  await pool.query(`CREATE TABLE IF NOT EXISTS raw_jobs (id BIGINT AUTO_INCREMENT PRIMARY KEY,
    payload TEXT NOT NULL, available_at BIGINT NOT NULL, KEY due (available_at)) ENGINE=InnoDB`);
  let started = performance.now();
  for (let i = 0; i < task.n; i++) {
    await pool.query("INSERT INTO raw_jobs (payload, available_at) VALUES ('{}', ?)", [Date.now()]);
  }
  const enqueueMs = performance.now() - started;
  const loop = async () => {
    const conn = await pool.getConnection();
    while (true) {
      await conn.query("BEGIN");
      const [rows] = await conn.query(
        "SELECT id FROM raw_jobs WHERE available_at <= ? ORDER BY available_at LIMIT 1 FOR UPDATE SKIP LOCKED",
        [Date.now()],
      ) as [{ id: number }[], unknown];
      if (rows.length > 0) {
        await conn.query("UPDATE raw_jobs SET available_at = ? WHERE id = ?", [
          Date.now() + 60_000,
          rows[0].id,
        ]);
      }
      await conn.query("COMMIT");
      if (rows.length === 0) break;
      await conn.query("DELETE FROM raw_jobs WHERE id = ?", [rows[0].id]);
    }
    conn.release();
  };
  started = performance.now();
  await Promise.all(Array.from({ length: task.inflight }, loop));
  const drainMs = performance.now() - started;
  await pool.end();
  return { enqueueMs, drainMs };
}

async function measureSqlite(dir: string, n: number): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const synchronous of ["NORMAL", "FULL"] as const) {
    const label = `sqlite ${synchronous}`;
    const raw = await runChild<{ enqueueMs: number; drainMs: number }>(SELF, {
      role: "raw-sqlite",
      path: `${dir}/raw-${synchronous}.db`,
      synchronous,
      n,
    });
    rows.push({
      metric: "enqueue",
      subject: `${label} raw`,
      value: rate(n, raw.enqueueMs),
      unit: "jobs/s",
    });
    rows.push({
      metric: "drain c=1",
      subject: `${label} raw`,
      value: rate(n, raw.drainMs),
      unit: "jobs/s",
    });
    const ours = await measureStore(label, {
      driver: "sqlite",
      path: `${dir}/queue-${synchronous}.db`,
      synchronous,
    }, n);
    for (const row of ours) if (row.metric === "enqueue") row.versus = `${label} raw`;
    rows.push(...ours);
  }
  return rows;
}

async function measureMysql(n: number): Promise<BenchRow[]> {
  const database = `queue_sqlh_bench_${crypto.randomUUID().slice(0, 8)}`;
  const admin = await mysql.createConnection({
    host: MYSQL.host,
    port: MYSQL.port,
    user: MYSQL.username,
  });
  await admin.query(`CREATE DATABASE ${database}`);
  try {
    const raw = await runChild<{ enqueueMs: number; drainMs: number }>(SELF, {
      role: "raw-mysql",
      database,
      n,
      inflight: 16,
    });
    const rows: BenchRow[] = [
      { metric: "enqueue", subject: "mariadb raw", value: rate(n, raw.enqueueMs), unit: "jobs/s" },
      { metric: "drain c=16", subject: "mariadb raw", value: rate(n, raw.drainMs), unit: "jobs/s" },
    ];
    const ours = await measureStore("mariadb", { driver: "database", database }, n);
    for (const row of ours) if (row.metric === "enqueue") row.versus = "mariadb raw";
    return [...rows, ...ours];
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${database}`);
    await admin.end();
  }
}

/** Runs the SQL benchmark and returns its rows (SQLite NORMAL, FULL, then MariaDB). */
export async function run(options: BenchOptions): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "queue_bench_sql_" });
  try {
    const rows = await measureSqlite(dir, options.n);
    try {
      rows.push(...await measureMysql(options.n));
    } catch (error) {
      console.warn(`MariaDB skipped: ${(error as Error).message}`);
    }
    printTable(
      `SQLite and MariaDB: no-op jobs, N = ${options.n}, producer and worker in separate processes`,
      rows,
    );
    return rows;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function childMain(task: ChildTask): Promise<void> {
  const roles = {
    "enqueue": childEnqueue,
    "drain": childDrain,
    "latency": childLatency,
    "raw-sqlite": rawSqlite,
    "raw-mysql": rawMysql,
  } as Record<string, (task: never) => unknown>;
  report(await roles[task.role](task as never));
  Deno.exit(0);
}

if (import.meta.main) {
  if (Deno.args[0]?.startsWith("{")) await childMain(childArgs<ChildTask>());
  else {
    await run(parseBenchFlags(Deno.args));
  }
}
