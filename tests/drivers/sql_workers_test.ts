/**
 * MariaDB under several worker processes: four processes drain 10,000 jobs,
 * and the jobs of a SIGKILLed worker come back after retry_after.
 */
import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import type { MysqlConfig } from "../../src/config_types.ts";
import type { NewJob } from "../../src/drivers/driver.ts";
import { MysqlDriver } from "../../src/drivers/sql/mysql.ts";
import { serviceUp } from "../_services.ts";
import { checkLedgers, startFixture } from "../fixtures/sql_processes.ts";

const HOST = Deno.env.get("QUEUE_TEST_MYSQL_HOST") ?? "127.0.0.1";
const PORT = Number(Deno.env.get("QUEUE_TEST_MYSQL_PORT") ?? 3306);
const USER = Deno.env.get("QUEUE_TEST_MYSQL_USER") ?? "root";
const PASSWORD = Deno.env.get("QUEUE_TEST_MYSQL_PASSWORD") ?? "";
const RETRY_AFTER_MS = 3000;

const admin = () =>
  mysql.createConnection({ host: HOST, port: PORT, user: USER, password: PASSWORD });
const up = await serviceUp(`MariaDB at ${HOST}:${PORT}`, async () => (await admin()).end());

function job(): NewJob {
  return {
    id: crypto.randomUUID(),
    queue: "work",
    payload: JSON.stringify({ v: 1, type: "Test", data: {} }),
  };
}

Deno.test({
  name:
    "mysql: four worker processes drain 10,000 jobs; a SIGKILLed worker's jobs come back after retry_after",
  ignore: !up,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const database = `queue_sqlh_${crypto.randomUUID().slice(0, 8)}_workers`;
    const conn = await admin();
    await conn.query(`CREATE DATABASE ${database}`);
    const config: MysqlConfig = {
      host: HOST,
      port: PORT,
      username: USER,
      password: PASSWORD,
      database,
      maxOpenConns: 8,
      maxIdleConns: 8,
      connectTimeoutMs: 5000,
    };
    const dir = await Deno.makeTempDir({ prefix: "queue_sql_workers_" });
    const producer = new MysqlDriver(config);
    try {
      await producer.connect();
      const jobs = Array.from({ length: 10_000 }, job);
      await producer.pushBulk(jobs);
      const base = { kind: "mysql", config, queue: "work", retryAfterMs: RETRY_AFTER_MS };

      const holder = startFixture({ ...base, mode: "hold", hold: 5 });
      const { held } = JSON.parse(await holder.line((line) => line.startsWith("{")));
      holder.child.kill("SIGKILL");
      await holder.done;
      assert.equal(held.length, 5);

      const ledgers = [0, 1, 2, 3].map((i) => `${dir}/ledger-${i}.jsonl`);
      const workers = ledgers.map((ledger) =>
        startFixture({
          ...base,
          mode: "drain",
          ledger,
          concurrency: 4,
          idleExitMs: RETRY_AFTER_MS + 2000,
        })
      );
      for (const worker of workers) assert.equal((await worker.done).code, 0);

      await checkLedgers(ledgers, new Set(jobs.map((j) => j.id)));
      const all = await Promise.all(ledgers.map((path) => Deno.readTextFile(path)));
      const entries = all.join("").split("\n").filter(Boolean).map((line) => JSON.parse(line));
      for (const { id, reservedUntil } of held) {
        const done = entries.find((entry) => entry.id === id && entry.deleted === true);
        assert.ok(done, `the killed worker's job ${id} was processed`);
        assert.equal(done.attempts, 2, "the second reservation counts attempt 2");
        assert.ok(done.reservedAt >= reservedUntil, "taken again only after retry_after");
      }
      assert.equal(await producer.size("work"), 0);
    } finally {
      await producer.close();
      await conn.query(`DROP DATABASE IF EXISTS ${database}`);
      await conn.end();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
