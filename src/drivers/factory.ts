/**
 * Builds the driver a config names. Drivers are imported on demand, so an
 * SQLite user never loads the Redis or MySQL client.
 *
 * @module
 */

import type { Driver } from "./driver.ts";
import type { QueueConfig } from "../config_types.ts";
import { MemoryDriver } from "./memory.ts";

/** Creates (without connecting) the driver named by `config.driver`. */
export async function createDriver(config: QueueConfig): Promise<Driver> {
  const tables = { table: config.table, failedTable: config.failedTable };
  switch (config.driver) {
    case "memory":
      return new MemoryDriver();
    case "sqlite": {
      const { SqliteDriver } = await import("./sql/sqlite.ts");
      return new SqliteDriver(config.sqlite, tables);
    }
    case "database": {
      const { MysqlDriver } = await import("./sql/mysql.ts");
      return new MysqlDriver(config.mysql, tables);
    }
    case "redis": {
      const { RedisDriver } = await import("./redis.ts");
      return new RedisDriver(config.redis);
    }
  }
}
