/**
 * Scenario 8, per store: poison written straight into the store (malformed
 * JSON, JSON of the wrong shape, an unknown job type, a `__proto__` key, a
 * 10 MB payload over the 1 MB limit, a negative delay, bytes that are not
 * UTF-8) ends in the failed store with a clear reason, or is refused at push
 * with a clear error; the worker keeps processing the rest.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Redis } from "ioredis";
import { Worker } from "../../src/worker.ts";
import { LedgerJob } from "../fixtures/faults_jobs.ts";
import { waitUntil } from "../_services.ts";
import { figure, range, summarize, waitForLedger } from "./_ledger.ts";
import { setUp } from "./_setup.ts";
import { mysqlAdmin, REDIS, type Store, STORES } from "./_stores.ts";

const options = { sanitizeOps: false, sanitizeResources: false };
const NOT_UTF8 = new Uint8Array([0xff, 0xfe, 0xc3, 0x28]);

/** Overwrites a stored job's payload with bytes that are not UTF-8 (the store's own way). */
async function writeBytes(store: Store, dir: string, id: string, json: string): Promise<void> {
  const bytes = new Uint8Array([...NOT_UTF8, ...new TextEncoder().encode(json)]);
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  if (store.name === "sqlite") {
    const db = new DatabaseSync(`${dir}/queue.db`);
    db.prepare(`UPDATE jobs SET payload = CAST(X'${hex}' AS TEXT) WHERE id = ?`).run(id);
    db.close();
  } else if (store.name === "mysql") {
    const database = /database: "([^"]+)"/.exec(store.yaml)![1];
    const conn = await mysqlAdmin();
    try {
      await conn.query(`UPDATE ${database}.jobs SET payload = X'${hex}' WHERE id = ?`, [id]);
    } finally {
      await conn.end();
    }
  } else {
    // A delayed job's payload sits in the jobs hash; make it due at once.
    const prefix = /prefix: "([^"]+)"/.exec(store.yaml)![1];
    const client = new Redis({ ...REDIS });
    await client.hset(`${prefix}:{poison}:jobs`, id, Buffer.from(bytes));
    await client.zadd(`${prefix}:{poison}:delayed`, 0, id);
    client.disconnect();
  }
}

for (const name of STORES) {
  Deno.test({
    name: `faults ${name}: poison in the store goes to the failed store with a reason`,
    ...options,
    fn: async () => {
      const setup = await setUp(name, {
        name: "poison",
        options: "priority: 1, processes: 1, timeout: 5, tries: 3, retry_after: 30",
      });
      const manager = await setup.manager();
      const driver = manager.driver;
      const good = (n: number) =>
        JSON.stringify({ v: 1, type: "LedgerJob", data: { ledger: setup.ledger, n } });
      const poison: Record<string, { payload: string; reason: RegExp }> = {
        malformed: { payload: '{"v":1,"type":"LedgerJob","data":{', reason: /not valid JSON/ },
        array: { payload: "[1,2,3]", reason: /must be a JSON object/ },
        shape: { payload: '{"v":1,"type":42,"data":{}}', reason: /"type" must be a non-empty/ },
        unknown: { payload: '{"v":1,"type":"NoSuchJob","data":{}}', reason: /NoSuchJob/ },
        proto: {
          payload: `{"v":1,"type":"LedgerJob","data":{"__proto__":{"polluted":1},"n":998}}`,
          reason: /forbidden key "__proto__"/,
        },
        big: {
          payload: JSON.stringify({
            v: 1,
            type: "LedgerJob",
            data: { ledger: setup.ledger, n: 997, pad: "x".repeat(10 * 1024 * 1024) },
          }),
          reason: /over the limit of 1048576 bytes/,
        },
        bytes: { payload: good(996), reason: /not valid (JSON|UTF-8)/ },
      };
      const refused: string[] = [];
      for (const [id, { payload }] of Object.entries(poison)) {
        await driver.push({
          id,
          queue: "poison",
          payload,
          delayMs: id === "bytes" && name === "redis" ? 600_000 : 0,
        });
      }
      try {
        await writeBytes(setup.store, setup.dir, "bytes", good(996));
      } catch (error) {
        // MariaDB refuses bytes that are not utf8mb4: refused at the store, with the reason.
        assert.match((error as Error).message, /Incorrect string value/);
        refused.push("bytes");
        await manager.clear("poison");
        for (const [id, { payload }] of Object.entries(poison)) {
          if (id !== "bytes") await driver.push({ id, queue: "poison", payload });
        }
      }
      // A negative delay: refused by the Manager; straight into the store it means "now".
      await assert.rejects(
        () => manager.later(Object.assign(new LedgerJob({ queue: "poison" }), { n: 1 }), -5000),
        /delay must be a non-negative number/,
      );
      await driver.push({ id: "negative", queue: "poison", payload: good(100), delayMs: -5000 });
      await assert.rejects(
        () => manager.pushRaw("poison", "x".repeat(10 * 1024 * 1024)),
        /over the limit of 1048576 bytes \(queue\.max_payload\)/,
      );
      await setup.push(0, 20);

      const worker = new Worker(manager, ["poison"], { sleep: 200, heartbeatMs: 0, memory: 0 });
      const running = worker.start();
      try {
        const expected = [...range(20), 100];
        const lines = await waitForLedger(setup.ledger, expected, 30_000);
        const summary = summarize(lines, expected);
        assert.deepEqual(summary.lost, []);
        assert.deepEqual(summary.duplicates, []);
        const poisoned = Object.keys(poison).filter((id) => !refused.includes(id));
        await waitUntil(
          async () => (await manager.failedJobs()).length === poisoned.length,
          20_000,
          `${poisoned.length} failed jobs`,
        );
        const failed = await manager.failedJobs();
        for (const id of poisoned) {
          const entry = failed.find((f) => f.id === id);
          assert.ok(entry, `${id} is in the failed store`);
          assert.match(entry.error, poison[id].reason, `${id}: ${entry.error}`);
        }
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
        assert.equal(await manager.size("poison"), 0);
        figure("8 poison input", name, {
          jobs: 21 + poisoned.length,
          lost: 0,
          duplicates: 0,
          recovery: `${poisoned.length} failed with reason, ${refused.length + 2} refused at push`,
        });
      } finally {
        await worker.stop();
        await running;
        await setup.cleanup();
      }
    },
  });
}
