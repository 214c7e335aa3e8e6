import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import type { MysqlConfig } from "../../src/config_types.ts";
import { ConnectionError } from "../../src/errors.ts";
import { MysqlDriver } from "../../src/drivers/sql/mysql.ts";
import { freePort, serviceUp } from "../_services.ts";
import { driverContract } from "./contract.ts";

const HOST = Deno.env.get("QUEUE_TEST_MYSQL_HOST") ?? "127.0.0.1";
const PORT = Number(Deno.env.get("QUEUE_TEST_MYSQL_PORT") ?? 3306);
const USER = Deno.env.get("QUEUE_TEST_MYSQL_USER") ?? "root";
const PASSWORD = Deno.env.get("QUEUE_TEST_MYSQL_PASSWORD") ?? "";
const RUN = crypto.randomUUID().slice(0, 8);
let databases = 0;

function mysqlConfig(database: string, overrides: Partial<MysqlConfig> = {}): MysqlConfig {
  return {
    host: HOST,
    port: PORT,
    username: USER,
    password: PASSWORD,
    database,
    maxOpenConns: 10,
    maxIdleConns: 10,
    connectTimeoutMs: 5000,
    ...overrides,
  };
}

function admin(): Promise<mysql.Connection> {
  return mysql.createConnection({ host: HOST, port: PORT, user: USER, password: PASSWORD });
}

/** Creates a database of its own (queue_sqlh_ prefix) and returns its name and a drop function. */
async function freshDatabase(): Promise<{ name: string; drop: () => Promise<void> }> {
  const name = `queue_sqlh_${RUN}_${databases++}`;
  const conn = await admin();
  await conn.query(`CREATE DATABASE ${name}`);
  await conn.end();
  return {
    name,
    drop: async () => {
      const c = await admin();
      await c.query(`DROP DATABASE IF EXISTS ${name}`);
      await c.end();
    },
  };
}

const up = await serviceUp(`MariaDB at ${HOST}:${PORT}`, async () => (await admin()).end());

driverContract("mysql", async () => {
  const db = await freshDatabase();
  const driver = new MysqlDriver(mysqlConfig(db.name));
  await driver.connect();
  const siblings: MysqlDriver[] = [];
  return {
    driver,
    sibling: async () => {
      const other = new MysqlDriver(mysqlConfig(db.name));
      await other.connect();
      siblings.push(other);
      return other;
    },
    cleanup: async () => {
      for (const other of siblings) await other.close();
      await driver.close();
      await db.drop();
    },
  };
}, { ignore: !up });

function test(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: `mysql driver: ${name}`,
    ignore: !up,
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}

const claim = { name: "default", retryAfterMs: 60_000 };
const newJob = (label: string) => ({
  id: crypto.randomUUID(),
  queue: "default",
  payload: JSON.stringify({ v: 1, type: "Test", data: { label } }),
});

test("pushWithin commits the job with the caller's rows, and a rollback leaves no job", async () => {
  const db = await freshDatabase();
  const driver = new MysqlDriver(mysqlConfig(db.name));
  const conn = await mysql.createConnection({
    host: HOST,
    port: PORT,
    user: USER,
    password: PASSWORD,
    database: db.name,
  });
  try {
    await driver.connect();
    await conn.query("CREATE TABLE orders (id INT PRIMARY KEY) ENGINE=InnoDB");

    await conn.beginTransaction();
    await conn.query("INSERT INTO orders (id) VALUES (1)");
    await driver.pushWithin(conn, newJob("rolled-back"));
    await conn.rollback();
    assert.equal(await driver.size("default"), 0, "a rolled-back enqueue leaves no job");

    await conn.beginTransaction();
    await conn.query("INSERT INTO orders (id) VALUES (2)");
    await driver.pushWithin(conn, [newJob("committed-a"), newJob("committed-b")]);
    assert.equal(await driver.size("default"), 0, "not visible before the caller commits");
    await conn.commit();

    const [orders] = await conn.query("SELECT id FROM orders") as [{ id: number }[], unknown];
    assert.deepEqual(orders.map((row) => row.id), [2]);
    const reserved = await driver.reserve({ queues: [claim], count: 5 });
    assert.deepEqual(reserved.map((r) => JSON.parse(r.payload).data.label), [
      "committed-a",
      "committed-b",
    ]);
  } finally {
    await conn.end();
    await driver.close();
    await db.drop();
  }
});

test("claims without SKIP LOCKED (older servers) still never hand a job out twice", async () => {
  const db = await freshDatabase();
  const config = mysqlConfig(db.name);
  const a = new MysqlDriver(config, undefined, { skipLocked: false });
  const b = new MysqlDriver(config, undefined, { skipLocked: false });
  try {
    await a.connect();
    await b.connect();
    await a.pushBulk(Array.from({ length: 40 }, (_, i) => newJob(`n${i}`)));
    const seen: string[] = [];
    const consume = async (driver: MysqlDriver) => {
      while (true) {
        const got = await driver.reserve({ queues: [claim] });
        if (got.length === 0) return;
        seen.push(got[0].id);
      }
    };
    await Promise.all([consume(a), consume(b), consume(a), consume(b)]);
    assert.equal(seen.length, 40);
    assert.equal(new Set(seen).size, 40);
  } finally {
    await a.close();
    await b.close();
    await db.drop();
  }
});

test("an unreachable server is a ConnectionError naming host:port, and target has no password", async () => {
  const port = freePort();
  const driver = new MysqlDriver(
    mysqlConfig("nowhere", { port, password: "s3cret-pw", connectTimeoutMs: 2000 }),
  );
  await assert.rejects(driver.connect(), (error: unknown) => {
    assert.ok(error instanceof ConnectionError);
    assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    return true;
  });
  const viaUrl = new MysqlDriver(
    mysqlConfig("x", { url: `mysql://app:s3cret-pw@127.0.0.1:${port}/jobsdb` }),
  );
  assert.equal(viaUrl.target, `mysql app@127.0.0.1:${port}/jobsdb`);
  assert.ok(!driver.target.includes("s3cret-pw"));
  await driver.close();
});

test("invalid table names are refused before any SQL runs", () => {
  assert.throws(() =>
    new MysqlDriver(mysqlConfig("x"), { table: "jobs; DROP TABLE x", failedTable: "f" })
  );
  assert.throws(() => new MysqlDriver(mysqlConfig("x"), { table: "jobs", failedTable: "1bad" }));
  return Promise.resolve();
});

Deno.test({
  name: "mysql: a database that does not exist yet is created on first use, as the tables are",
  ignore: !up,
  fn: async () => {
    const name = `queue_sqlh_${RUN}_created`;
    const driver = new MysqlDriver(mysqlConfig(name));
    try {
      await driver.connect();
      assert.equal(await driver.size("default"), 0);
    } finally {
      await driver.close();
      const conn = await admin();
      const [rows] = await conn.query("SHOW DATABASES LIKE ?", [name]);
      await conn.query(`DROP DATABASE IF EXISTS ${name}`);
      await conn.end();
      assert.equal((rows as unknown[]).length, 1);
    }
  },
});
