/**
 * The child processes of the Redis benchmark: a producer or a worker for one
 * subject (ours through Manager and Worker, BullMQ, or a thin ioredis loop).
 * Usage: `deno run -A bench/redis_roles.ts '<json RoleArgs>'`; prints its
 * result with the harness's `report`.
 *
 * @module
 */

import { Redis } from "ioredis";
// The peer is measured, not used by the library: it stays out of deno.json.
// deno-lint-ignore no-import-prefix
import { Queue, Worker as BullWorker } from "npm:bullmq@5";
import { BaseJob } from "../src/job.ts";
import { JobRegistry } from "../src/job_registry.ts";
import { Manager } from "../src/manager.ts";
import { fromSeedConfig } from "../src/config.ts";
import { RedisDriver } from "../src/drivers/redis.ts";
import { Worker } from "../src/worker.ts";
import { childArgs, report, signalReady } from "./_harness.ts";

/** Who is measured. */
export type Subject = "ours" | "bullmq" | "ceiling";

/** What a child does. */
export interface RoleArgs {
  /** produce or work. */
  role: "produce" | "work";
  /** Who is measured. */
  subject: Subject;
  /** one / bulk enqueue, drain, pickup or delayed (timestamps in the payload). */
  mode: "one" | "bulk" | "drain" | "pickup" | "delayed";
  /** Jobs (or samples) to produce or to wait for. */
  n: number;
  /** Jobs in flight for a worker. */
  concurrency: number;
  /** Redis database index. */
  db: number;
  /** Queue name. */
  queue: string;
  /** Ours: heartbeats and monitoring figures on (the default) or off, to measure their cost. */
  monitoring?: boolean;
}

/** What a child reports. */
export interface RoleResult {
  /** Milliseconds the measured part took. */
  ms: number;
  /** Latency samples (ms) for pickup and delayed modes. */
  samples: number[];
}

const clock = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Gap between pickup pushes, so that the worker is idle when each job arrives. */
const PICKUP_GAP_MS = 4;
/** Delayed job i is due DELAY_BASE_MS + i * DELAY_STEP_MS after it was pushed. */
const DELAY_BASE_MS = 150;
const DELAY_STEP_MS = 8;

function stamp(args: RoleArgs, i: number): { t: number; due: number; delay: number } {
  const delay = args.mode === "delayed" ? DELAY_BASE_MS + i * DELAY_STEP_MS : 0;
  const t = clock();
  return { t, due: t + delay, delay };
}

/** Sends the jobs; pickup mode spaces them out. */
async function produceLoop(args: RoleArgs, send: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < args.n; i++) {
    await send(i);
    if (args.mode === "pickup") await sleep(PICKUP_GAP_MS);
  }
}

/** The latency a worker sees for one job: from push (pickup) or from due time (delayed). */
function latency(args: RoleArgs, data: { t: number; due: number }): number {
  return clock() - (args.mode === "delayed" ? data.due : data.t);
}

class BenchNoop extends BaseJob {
  t = 0;
  due = 0;
  static seen: (job: BenchNoop) => void = () => {};
  handle(): void {
    BenchNoop.seen(this);
  }
}

function ourManager(args: RoleArgs): Manager {
  const registry = new JobRegistry();
  registry.register(BenchNoop, "BenchNoop");
  const config = fromSeedConfig({
    driver: "redis",
    options: { connection: `redis://127.0.0.1:6379/${args.db}` },
  });
  const figures = args.monitoring !== false;
  return new Manager(config, { registry, driver: new RedisDriver(config.redis, { figures }) });
}

async function oursProduce(args: RoleArgs): Promise<number> {
  const manager = ourManager(args);
  await manager.connect();
  const make = (i: number) => {
    const { t, due, delay } = stamp(args, i);
    return Object.assign(new BenchNoop({ queue: args.queue, delay }), { t, due });
  };
  const started = clock();
  if (args.mode === "bulk") {
    await manager.pushBulk(Array.from({ length: args.n }, (_, i) => make(i)));
  } else await produceLoop(args, (i) => manager.push(make(i)));
  const ms = clock() - started;
  await manager.close();
  return ms;
}

async function oursWork(args: RoleArgs, samples: number[]): Promise<number> {
  const manager = ourManager(args);
  await manager.connect();
  let done = 0;
  let finish = () => {};
  const finished = new Promise<void>((resolve) => finish = resolve);
  BenchNoop.seen = (job) => {
    if (args.mode !== "drain") samples.push(latency(args, job));
  };
  const worker = new Worker(manager, [args.queue], {
    concurrency: args.concurrency,
    sleep: 3000,
    heartbeatMs: args.monitoring === false ? 0 : 5000, // 5000: the default
    memory: 0,
    onEvent: (event) => {
      if (event.type === "done" && ++done === args.n) finish();
    },
  });
  const started = clock();
  const running = worker.start();
  if (args.mode !== "drain") await sleep(300).then(() => signalReady());
  await finished;
  const ms = clock() - started;
  await worker.stop();
  await running;
  await manager.close();
  return ms;
}

async function bullProduce(args: RoleArgs): Promise<number> {
  const queue = new Queue(args.queue, {
    connection: { host: "127.0.0.1", port: 6379, db: args.db },
  });
  const opts = (delay: number) => ({ removeOnComplete: true, removeOnFail: true, delay });
  await queue.waitUntilReady();
  const started = clock();
  if (args.mode === "bulk") {
    await queue.addBulk(Array.from({ length: args.n }, (_, i) => {
      const data = stamp(args, i);
      return { name: "noop", data, opts: opts(data.delay) };
    }));
  } else {
    await produceLoop(args, (i) => {
      const data = stamp(args, i);
      return queue.add("noop", data, opts(data.delay));
    });
  }
  const ms = clock() - started;
  await queue.close();
  return ms;
}

async function bullWork(args: RoleArgs, samples: number[]): Promise<number> {
  let done = 0;
  let finish = () => {};
  const finished = new Promise<void>((resolve) => finish = resolve);
  const started = clock();
  const worker = new BullWorker(args.queue, (job) => {
    if (args.mode !== "drain") samples.push(latency(args, job.data));
    return Promise.resolve();
  }, {
    connection: { host: "127.0.0.1", port: 6379, db: args.db, maxRetriesPerRequest: null },
    concurrency: args.concurrency,
  });
  worker.on("completed", () => {
    if (++done === args.n) finish();
  });
  await worker.waitUntilReady();
  if (args.mode !== "drain") await sleep(300).then(() => signalReady());
  await finished;
  const ms = clock() - started;
  await worker.close();
  return ms;
}

async function thinProduce(args: RoleArgs): Promise<number> {
  const redis = new Redis({ host: "127.0.0.1", port: 6379, db: args.db });
  const key = `thin:${args.queue}`;
  const started = clock();
  if (args.mode === "bulk") {
    const payloads = Array.from({ length: args.n }, (_, i) => JSON.stringify(stamp(args, i)));
    for (let i = 0; i < payloads.length; i += 10_000) {
      await redis.lpush(key, ...payloads.slice(i, i + 10_000));
    }
  } else if (args.mode === "delayed") {
    await produceLoop(args, (i) => {
      const data = stamp(args, i);
      return redis.zadd(`${key}:delayed`, data.due, JSON.stringify(data));
    });
  } else {
    await produceLoop(args, (i) => redis.lpush(key, JSON.stringify(stamp(args, i))));
  }
  const ms = clock() - started;
  redis.disconnect();
  return ms;
}

async function thinWork(args: RoleArgs, samples: number[]): Promise<number> {
  const redis = new Redis({ host: "127.0.0.1", port: 6379, db: args.db });
  const key = `thin:${args.queue}`;
  let done = 0;
  let ms = 0;
  const started = clock();
  if (args.mode !== "drain") setTimeout(() => signalReady(), 300);
  const take = async (): Promise<void> => {
    while (done < args.n) {
      if (args.mode === "delayed") {
        const [member, score] = await redis.zrange(`${key}:delayed`, 0, 0, "WITHSCORES");
        const wait = member === undefined ? 5 : Number(score) - clock();
        if (wait > 0) {
          await sleep(Math.min(wait, 5));
          continue;
        }
        if (await redis.zrem(`${key}:delayed`, member) !== 1) continue;
        samples.push(latency(args, JSON.parse(member)));
      } else {
        const popped = await redis.brpop(key, 1);
        if (!popped) continue;
        if (args.mode !== "drain") samples.push(latency(args, JSON.parse(popped[1])));
      }
      // Stop the clock at the last job: the other loops' pending pops are not work.
      if (++done === args.n) ms = clock() - started;
    }
  };
  const loops = Promise.all(Array.from({ length: args.concurrency }, take));
  while (ms === 0) await Promise.race([loops, sleep(1)]);
  redis.disconnect();
  return ms;
}

if (import.meta.main) {
  const args = childArgs<RoleArgs>();
  const samples: number[] = [];
  const roles = {
    ours: { produce: oursProduce, work: oursWork },
    bullmq: { produce: bullProduce, work: bullWork },
    ceiling: { produce: thinProduce, work: thinWork },
  };
  const ms = await roles[args.subject][args.role](args, samples);
  report({ ms, samples } satisfies RoleResult);
  Deno.exit(0);
}
