/**
 * The stores the operations tests run against: memory always, SQLite (a temp
 * file), Redis (DB 15 only) and MariaDB (a `queue_ops_*` database created and
 * dropped here) when their driver files exist and their servers answer.
 */

import { resolveConfig } from "../../src/config.ts";
import type { QueueConfig } from "../../src/config_types.ts";
import type { Driver } from "../../src/drivers/driver.ts";
import { MemoryDriver } from "../../src/drivers/memory.ts";
import { SqliteDriver } from "../../src/drivers/sql/sqlite.ts";
import { JobRegistry } from "../../src/job_registry.ts";
import { Manager } from "../../src/manager.ts";
import { serviceUp } from "../_services.ts";

/** A fresh, connected store and how to reach it again from another process. */
export interface StoreHandle {
  /** The connected driver. */
  driver: Driver;
  /** A config naming the same store (for child processes). */
  config: QueueConfig;
  /** Drops everything the test created. */
  cleanup(): Promise<void>;
}

/** A store kind the tests can open. */
export interface StoreKind {
  /** "memory", "sqlite", "redis" or "mysql". */
  name: string;
  /** Whether child processes can share it. */
  shared: boolean;
  /** Opens a fresh, empty store. */
  open(): Promise<StoreHandle>;
}

/** The seed's three queues, with processes > 0 for `default`. */
export const QUEUES = {
  high: { priority: 2, processes: 1 },
  default: { priority: 1, processes: 1 },
  low: { priority: 0, processes: 0 },
};

/** A resolved config for `driver` with the seed's queues and any extra raw keys. */
export function opsConfig(driver: string, extra: Record<string, unknown> = {}): QueueConfig {
  const { queue, ...rest } = extra as { queue?: Record<string, unknown> };
  return resolveConfig({ queue: { driver, queues: QUEUES, ...queue }, ...rest }, "ops test");
}

/** A Manager over `driver` with its own registry. */
export function managerFor(
  handle: { driver: Driver; config: QueueConfig },
  registry = new JobRegistry(),
): Manager {
  return new Manager(handle.config, { driver: handle.driver, registry });
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(new URL(path, import.meta.url));
    return true;
  } catch {
    return false;
  }
}

const memory: StoreKind = {
  name: "memory",
  shared: false,
  open: async () => {
    const driver = new MemoryDriver();
    await driver.connect();
    return { driver, config: opsConfig("memory"), cleanup: () => driver.close() };
  },
};

const sqlite: StoreKind = {
  name: "sqlite",
  shared: true,
  open: async () => {
    const dir = await Deno.makeTempDir({ prefix: "queue_ops_" });
    const config = opsConfig("sqlite", { sqlite: { path: `${dir}/queue.db` } });
    const driver = new SqliteDriver(config.sqlite);
    await driver.connect();
    return {
      driver,
      config,
      cleanup: async () => {
        await driver.close();
        await Deno.remove(dir, { recursive: true });
      },
    };
  },
};

async function redisKind(): Promise<StoreKind | null> {
  if (!(await exists("../../src/drivers/redis.ts"))) return null;
  const { Redis } = await import("ioredis");
  const probe = () => {
    const client = new Redis({
      host: "127.0.0.1",
      port: 6379,
      db: 15,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    return client.connect().then(() => client.quit()).catch((error: Error) => {
      client.disconnect();
      throw error;
    });
  };
  if (!(await serviceUp("Redis at 127.0.0.1:6379 (ops tests)", probe))) return null;
  const module = "../../src/drivers/redis.ts";
  const { RedisDriver } = await import(module);
  return {
    name: "redis",
    shared: true,
    open: async () => {
      const prefix = `queue_ops_${crypto.randomUUID().slice(0, 8)}`;
      const config = opsConfig("redis", {
        redis: { host: "127.0.0.1", port: 6379, db: 15, prefix },
      });
      const driver: Driver = new RedisDriver(config.redis);
      await driver.connect();
      return { driver, config, cleanup: () => cleanupRedis(driver, prefix) };
    },
  };
}

async function cleanupRedis(driver: Driver, prefix: string): Promise<void> {
  await driver.close();
  const { Redis } = await import("ioredis");
  const client = new Redis({ host: "127.0.0.1", port: 6379, db: 15 });
  const keys = await client.keys(`*${prefix}*`);
  if (keys.length > 0) await client.del(...keys);
  await client.quit();
}

async function mysqlKind(): Promise<StoreKind | null> {
  if (!(await exists("../../src/drivers/sql/mysql.ts"))) return null;
  const mysql = await import("mysql2/promise");
  const admin = () => mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "root" });
  if (
    !(await serviceUp("MariaDB at 127.0.0.1:3306 (ops tests)", async () => (await admin()).end()))
  ) return null;
  const module = "../../src/drivers/sql/mysql.ts";
  const { MysqlDriver } = await import(module);
  return {
    name: "mysql",
    shared: true,
    open: async () => {
      const database = `queue_ops_${crypto.randomUUID().slice(0, 8)}`;
      const connection = await admin();
      await connection.query(`CREATE DATABASE \`${database}\``);
      await connection.end();
      const config = opsConfig("database", {
        mysql: { host: "127.0.0.1", port: 3306, username: "root", database },
      });
      const driver: Driver = new MysqlDriver(config.mysql);
      await driver.connect();
      return {
        driver,
        config,
        cleanup: async () => {
          await driver.close();
          const drop = await admin();
          await drop.query(`DROP DATABASE IF EXISTS \`${database}\``);
          await drop.end();
        },
      };
    },
  };
}

/** Every store available here: memory and SQLite always, Redis and MariaDB when up. */
export async function availableStores(): Promise<StoreKind[]> {
  const kinds: StoreKind[] = [memory, sqlite];
  for (const extra of [await redisKind(), await mysqlKind()]) if (extra) kinds.push(extra);
  return kinds;
}
