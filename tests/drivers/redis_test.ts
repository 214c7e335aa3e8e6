/**
 * The driver contract against real Redis (127.0.0.1:6379, database 9, flushed
 * per test), plus what only Redis has: the raw wire-format enqueue that other
 * languages use, script reloading, connection errors and secrets in `target`.
 */
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { RedisDriver } from "../../src/drivers/redis.ts";
import type { RedisConfig } from "../../src/config_types.ts";
import { ConnectionError } from "../../src/errors.ts";
import { driverContract, storeTest } from "./contract.ts";
import { freePort, serviceUp, sleep } from "../_services.ts";

const DB = 9;
const config: RedisConfig = { host: "127.0.0.1", port: 6379, db: DB, prefix: "queue" };
const admin = () =>
  new Redis({ host: "127.0.0.1", port: 6379, db: DB, lazyConnect: true, maxRetriesPerRequest: 0 });

const up = await serviceUp("Redis at 127.0.0.1:6379", async () => {
  const probe = admin();
  probe.on("error", () => {});
  try {
    await probe.connect();
    await probe.ping();
  } finally {
    probe.disconnect();
  }
});

async function open(): Promise<
  {
    driver: RedisDriver;
    sibling: () => Promise<RedisDriver>;
    raw: Redis;
    cleanup: () => Promise<void>;
  }
> {
  const raw = admin();
  await raw.connect();
  await raw.flushdb();
  const drivers: RedisDriver[] = [];
  const make = async () => {
    const driver = new RedisDriver(config);
    await driver.connect();
    drivers.push(driver);
    return driver;
  };
  const driver = await make();
  return {
    driver,
    sibling: make,
    raw,
    cleanup: async () => {
      await Promise.all(drivers.map((d) => d.close()));
      await raw.flushdb();
      raw.disconnect();
    },
  };
}

driverContract("redis", open, { ignore: !up });

const test = storeTest("redis driver", open, !up);

const claim = (name: string) => ({ name, retryAfterMs: 60_000 });

test("a job enqueued by another language with one RPUSH of the wire JSON is reserved intact", async ({ driver, raw }) => {
  const payload = JSON.stringify({
    v: 1,
    id: "py-1",
    queue: "emails",
    type: "SendEmail",
    data: { to: "a@example.com" },
    maxAttempts: 3,
    timeoutMs: null,
    retryAfterMs: null,
    backoffMs: null,
    createdAt: 1700000000000,
  });
  // Exactly the command documented in the README.
  await raw.rpush("queue:{emails}:ready", payload);
  const stats = await driver.stats("emails");
  assert.equal(stats.ready, 1);
  assert.equal(stats.oldestReadyAt, 1700000000000);
  const [job] = await driver.reserve({ queues: [claim("emails")] });
  assert.equal(job.id, "py-1");
  assert.equal(job.payload, payload);
  assert.equal(job.attempts, 1);
  assert.equal(await driver.release(job, 0), true);
  const [again] = await driver.reserve({ queues: [claim("emails")] });
  assert.equal(again.payload, payload, "a released raw job keeps its payload");
  assert.equal(again.attempts, 2);
  assert.equal(await driver.delete(again), true);
  assert.equal(await driver.size("emails"), 0);
  assert.deepEqual(await driver.queues(), [], "no leftovers once the job is done");
});

test("a delayed job enqueued by another language with HSET + ZADD runs once due", async ({ driver, raw }) => {
  const payload = JSON.stringify({ v: 1, id: "go-7", queue: "later", raw: "hi", createdAt: 1 });
  const due = (await driver.now()) + 300;
  // Exactly the commands documented in the README, in this order.
  await raw.hset("queue:{later}:jobs", "go-7", payload);
  await raw.zadd("queue:{later}:delayed", due, "go-7");
  await raw.sadd("queue:{@}:queues", "later");
  assert.deepEqual(await driver.queues(), ["later"]);
  assert.equal((await driver.stats("later")).delayed, 1);
  assert.deepEqual(await driver.reserve({ queues: [claim("later")] }), []);
  const [job] = await driver.reserve({ queues: [claim("later")], waitMs: 3000 });
  assert.ok(job, "the delayed job was reserved once due");
  assert.ok((await driver.now()) >= due);
  assert.equal(job.id, "go-7");
  assert.equal(job.payload, payload);
});

test("a raw RPUSH wakes a waiting reserve, and JSON without an id gets one", async ({ driver, raw }) => {
  const waiting = driver.reserve({ queues: [claim("raw")], waitMs: 5000 });
  await sleep(50);
  await raw.rpush("queue:{raw}:ready", JSON.stringify({ v: 1, queue: "raw", raw: "hello" }));
  const [job] = await waiting;
  assert.ok(job, "the waiting reserve woke up");
  assert.ok(job.id.length > 0);
  assert.equal(JSON.parse(job.payload).raw, "hello");
  assert.equal(await driver.delete(job), true);
});

test("a delayed job pushed while a worker waits wakes it near its due time, not after waitMs", async ({ driver, sibling }) => {
  const producer = await sibling();
  const started = Date.now();
  const waiting = driver.reserve({ queues: [claim("soon")], waitMs: 10_000 });
  await sleep(50);
  await producer.push({ id: crypto.randomUUID(), queue: "soon", payload: "{}", delayMs: 200 });
  const [job] = await waiting;
  assert.ok(job, "the delayed job was reserved");
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  assert.equal((await driver.stats("soon")).ready, 0, "the wake marker is not counted as a job");
});

test("acks made in one tick are batched yet answered one by one", async ({ driver }) => {
  await driver.pushBulk(
    Array.from({ length: 20 }, (_, i) => ({ id: `a${i}`, queue: "acks", payload: "{}" })),
  );
  const jobs = await driver.reserve({ queues: [claim("acks")], count: 20 });
  const stale = { ...jobs[0], token: "stale" };
  const results = await Promise.all([
    driver.delete(stale),
    ...jobs.slice(0, 10).map((job) => driver.delete(job, { durationMs: 5 })),
    driver.delete(jobs[0]),
  ]);
  assert.deepEqual(results, [false, ...Array(10).fill(true), false]);
  assert.equal((await driver.stats("acks")).reserved, 10);
  const metrics = await driver.metrics("acks");
  assert.equal(metrics.processedTotal, 10);
  assert.equal(metrics.minutes.reduce((sum, m) => sum + m.processed, 0), 10);
  assert.equal(metrics.durationP50, 5);
});

test("scripts are reloaded after SCRIPT FLUSH (NOSCRIPT)", async ({ driver, raw }) => {
  await driver.push({ id: "a", queue: "s", payload: "{}" });
  await raw.script("FLUSH");
  await driver.push({ id: "b", queue: "s", payload: "{}" });
  const jobs = await driver.reserve({ queues: [claim("s")], count: 2 });
  assert.deepEqual(jobs.map((j) => j.id), ["a", "b"]);
});

test("pushBulk across queues stores each queue's jobs in order", async ({ driver }) => {
  const jobs = Array.from({ length: 5000 }, (_, i) => ({
    id: `j${i}`,
    queue: i % 2 ? "odd" : "even",
    payload: JSON.stringify({ i }),
  }));
  await driver.pushBulk(jobs);
  assert.equal(await driver.size("odd"), 2500);
  const taken = await driver.reserve({ queues: [claim("even")], count: 3 });
  assert.deepEqual(taken.map((j) => j.id), ["j0", "j2", "j4"]);
});

test("close() ends a waiting reserve", async ({ sibling }) => {
  const driver = await sibling();
  const waiting = driver.reserve({ queues: [claim("idle")], waitMs: 30_000 });
  await sleep(50);
  const started = Date.now();
  await driver.close();
  assert.deepEqual(await waiting, []);
  assert.ok(Date.now() - started < 5000);
});

test("ids with '|' are refused, bad queue names are refused", async ({ driver }) => {
  await assert.rejects(driver.push({ id: "a|b", queue: "q", payload: "{}" }), /without '\|'/);
  await assert.rejects(driver.push({ id: "a", queue: "bad name", payload: "{}" }), /Queue name/);
});

test("commands before connect() connect once, even when issued together", async () => {
  const driver = new RedisDriver(config);
  try {
    await Promise.all(
      Array.from(
        { length: 5 },
        (_, i) => driver.push({ id: `c${i}`, queue: "lazy", payload: "{}" }),
      ),
    );
    assert.equal(await driver.size("lazy"), 5);
  } finally {
    await driver.close();
  }
});

Deno.test("redis driver: connect() to a closed port throws one ConnectionError naming host:port", async () => {
  const port = freePort();
  const driver = new RedisDriver({ ...config, port });
  const error = await driver.connect().then(() => null, (e) => e);
  await driver.close();
  assert.ok(error instanceof ConnectionError, String(error));
  assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
});

Deno.test("redis driver: target never shows the password", async () => {
  const fromFields = new RedisDriver({ ...config, password: "s3cret-field" });
  const fromUrl = new RedisDriver({ ...config, url: "redis://user:s3cret-url@127.0.0.1:6379/3" });
  assert.equal(fromFields.target, "redis 127.0.0.1:6379/9");
  assert.equal(fromUrl.target, "redis 127.0.0.1:6379/3");
  await fromFields.close();
  await fromUrl.close();
});
