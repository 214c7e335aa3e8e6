import { SqliteDriver } from "../../src/drivers/sql/sqlite.ts";
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
