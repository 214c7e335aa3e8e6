/**
 * The stores the fault suite runs on, each isolated: SQLite in a temp dir,
 * MariaDB in a database `queue_faults_*` of its own (dropped after), Redis in
 * database 14 under a prefix of its own (its keys deleted after). A store whose
 * server is down is skipped (or fails under QUEUE_TEST_REQUIRE_SERVICES=1).
 *
 * @module
 */

import { Redis } from "ioredis";
import mysql from "mysql2/promise";
import { serviceUp } from "../_services.ts";

/** The drivers the suite covers. */
export type StoreName = "sqlite" | "mysql" | "redis";

/** MariaDB address of the tests (same variables as tests/drivers/mysql_test.ts). */
export const MYSQL = {
  host: Deno.env.get("QUEUE_TEST_MYSQL_HOST") ?? "127.0.0.1",
  port: Number(Deno.env.get("QUEUE_TEST_MYSQL_PORT") ?? 3306),
  user: Deno.env.get("QUEUE_TEST_MYSQL_USER") ?? "root",
  password: Deno.env.get("QUEUE_TEST_MYSQL_PASSWORD") ?? "",
};

/** The shared Redis; the suite uses database 14 only. */
export const REDIS = { host: "127.0.0.1", port: 6379, db: 14 };

/** Opens an admin connection to MariaDB (no database selected). */
export function mysqlAdmin(): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: MYSQL.host,
    port: MYSQL.port,
    user: MYSQL.user,
    password: MYSQL.password,
  });
}

const redisUp = await serviceUp(`Redis at ${REDIS.host}:${REDIS.port}`, async () => {
  const probe = new Redis({ ...REDIS, lazyConnect: true, maxRetriesPerRequest: 0 });
  probe.on("error", () => {});
  try {
    await probe.connect();
    await probe.ping();
  } finally {
    probe.disconnect();
  }
});
const mysqlUp = await serviceUp(
  `MariaDB at ${MYSQL.host}:${MYSQL.port}`,
  async () => await (await mysqlAdmin()).end(),
);

/** The stores whose servers answer (SQLite always). */
export const STORES: StoreName[] = [
  "sqlite",
  ...(mysqlUp ? ["mysql" as const] : []),
  ...(redisUp ? ["redis" as const] : []),
];

/** True when the store's server answered. */
export function storeUp(name: StoreName): boolean {
  return STORES.includes(name);
}

/** A store made for one test. */
export interface Store {
  /** Which store. */
  name: StoreName;
  /** The YAML lines selecting and addressing it (`queue.driver` goes in `driverLine`). */
  yaml: string;
  /** The `driver:` value for the queue block. */
  driver: string;
  /** Removes what the test left (database, keys). */
  cleanup: () => Promise<void>;
}

/**
 * Creates an isolated store. `dir` is the test's temp dir (SQLite file);
 * `address` overrides host/port (e.g. a fault proxy in front of the server).
 */
export async function makeStore(
  name: StoreName,
  dir: string,
  address?: { host: string; port: number },
): Promise<Store> {
  const tag = crypto.randomUUID().replaceAll("-", "").slice(0, 10);
  if (name === "sqlite") {
    return {
      name,
      driver: "sqlite",
      yaml: `sqlite: { path: "${dir}/queue.db" }\n`,
      cleanup: () => Promise.resolve(),
    };
  }
  if (name === "mysql") {
    const database = `queue_faults_${tag}`;
    const admin = await mysqlAdmin();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const host = address?.host ?? MYSQL.host;
    const port = address?.port ?? MYSQL.port;
    return {
      name,
      driver: "database",
      yaml: `mysql:\n  host: "${host}"\n  port: ${port}\n  username: "${MYSQL.user}"\n` +
        `  password: "${MYSQL.password}"\n  database: "${database}"\n  connect_timeout: 3s\n` +
        `  read_timeout: 2s\n`,
      cleanup: async () => {
        const conn = await mysqlAdmin();
        await conn.query(`DROP DATABASE IF EXISTS ${database}`);
        await conn.end();
      },
    };
  }
  const prefix = `faults${tag}`;
  const host = address?.host ?? REDIS.host;
  const port = address?.port ?? REDIS.port;
  return {
    name,
    driver: "redis",
    yaml: `redis:\n  host: "${host}"\n  port: ${port}\n  db: ${REDIS.db}\n  prefix: "${prefix}"\n` +
      `  read_timeout: 2s\n`,
    cleanup: () => deleteRedisPrefix(prefix),
  };
}

/** Deletes the keys of one prefix in database 14 (never FLUSHALL). */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const client = new Redis({ ...REDIS, maxRetriesPerRequest: 1 });
  client.on("error", () => {});
  try {
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
}

/** The config of a fault test: the store, the queue block, the job module. */
export function faultConfig(
  store: Store,
  queue: { name: string; options: string; worker?: string; extra?: string },
): string {
  const root = new URL("../../", import.meta.url).pathname;
  return `queue:
  driver: ${store.driver}
  queue: ${queue.name}
  worker: { ${queue.worker ?? "sleep: 0.5"} }
  queues:
    ${queue.name}: { ${queue.options} }
${store.yaml}jobs: ["${root}tests/fixtures/faults_jobs.ts"]
log: { level: info }
${queue.extra ?? ""}`;
}
