import assert from "node:assert/strict";
import type { NewJob } from "../../src/drivers/driver.ts";
import { SqliteDriver } from "../../src/drivers/sql/sqlite.ts";
import { checkLedgers, startFixture } from "../fixtures/sql_processes.ts";
import { driverContract } from "./contract.ts";

function sqliteConfig(path: string) {
  return { path, synchronous: "NORMAL" as const, busyTimeoutMs: 5000 };
}

driverContract("sqlite", async () => {
  const dir = await Deno.makeTempDir({ prefix: "queue_sqlite_" });
  const path = `${dir}/nested/queue.db`;
  const driver = new SqliteDriver(sqliteConfig(path));
  await driver.connect();
  const siblings: SqliteDriver[] = [];
  return {
    driver,
    sibling: async () => {
      const other = new SqliteDriver(sqliteConfig(path));
      await other.connect();
      siblings.push(other);
      return other;
    },
    cleanup: async () => {
      for (const other of siblings) await other.close();
      await driver.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
});

function job(queue: string): NewJob {
  return {
    id: crypto.randomUUID(),
    queue,
    payload: JSON.stringify({ v: 1, type: "Test", data: {} }),
  };
}

Deno.test("sqlite: a consumer in another process wakes for a job pushed here", async () => {
  const dir = await Deno.makeTempDir({ prefix: "queue_sqlite_" });
  const config = sqliteConfig(`${dir}/queue.db`);
  const producer = new SqliteDriver(config);
  await producer.connect();
  try {
    const latencies: number[] = [];
    for (let round = 0; round < 3; round++) {
      // waitMs is far longer than the test takes, so only a file event can deliver the job in time.
      const consumer = startFixture({
        kind: "sqlite",
        config,
        mode: "wait-one",
        queue: "wake",
        retryAfterMs: 60_000,
        waitMs: 30_000,
      });
      await consumer.line((line) => line === '"ready"');
      const pushed = job("wake");
      const pushedAt = Date.now();
      await producer.push(pushed);
      const got = JSON.parse(await consumer.line((line) => line.startsWith("{")));
      await consumer.done;
      assert.equal(got.id, pushed.id);
      latencies.push(got.at - pushedAt);
    }
    console.log(`cross-process pickup latencies (ms, not asserted): ${latencies.join(", ")}`);
  } finally {
    await producer.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite: four processes drain 2,000 jobs with no duplicates and none lost", async () => {
  const dir = await Deno.makeTempDir({ prefix: "queue_sqlite_" });
  const config = sqliteConfig(`${dir}/queue.db`);
  const producer = new SqliteDriver(config);
  await producer.connect();
  try {
    const jobs = Array.from({ length: 2000 }, () => job("drain"));
    await producer.pushBulk(jobs);
    const ledgers = [0, 1, 2, 3].map((i) => `${dir}/ledger-${i}.jsonl`);
    const workers = ledgers.map((ledger) =>
      startFixture({
        kind: "sqlite",
        config,
        mode: "drain",
        queue: "drain",
        retryAfterMs: 60_000,
        ledger,
        concurrency: 2,
        idleExitMs: 1000,
      })
    );
    for (const worker of workers) assert.equal((await worker.done).code, 0);
    const again = await checkLedgers(ledgers, new Set(jobs.map((j) => j.id)));
    assert.equal(again.size, 0, "with a long retry_after no job is handed out twice");
    assert.equal(await producer.size("drain"), 0);
    assert.equal((await producer.metrics("drain")).processedTotal, 2000);
  } finally {
    await producer.close();
    await Deno.remove(dir, { recursive: true });
  }
});
