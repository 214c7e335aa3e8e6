/**
 * Opening the backend for the executables: loads the config, connects the
 * Manager, and turns a failure into one sentence naming the driver and
 * host:port (never a password).
 *
 * @module
 */

import { loadConfig } from "../config.ts";
import type { DriverName, QueueConfig } from "../config_types.ts";
import { Manager } from "../manager.ts";
import { redact } from "./run.ts";
import { UsageError } from "./flags.ts";

/** The drivers `-driver` accepts ("mysql" is read as "database"). */
export const DRIVER_CHOICES = ["redis", "database", "mysql", "sqlite", "memory"] as const;

/** Where a config's driver connects, without secrets: "127.0.0.1:6379" or a file path. */
export function backendAddress(config: QueueConfig): string {
  switch (config.driver) {
    case "redis":
      if (config.redis.cluster?.length) return config.redis.cluster.join(",");
      if (config.redis.url) return hostPortOf(config.redis.url, 6379);
      return `${config.redis.host}:${config.redis.port}`;
    case "database":
      if (config.mysql.url) return hostPortOf(config.mysql.url, 3306);
      return `${config.mysql.host}:${config.mysql.port}`;
    case "sqlite":
      return config.sqlite.path;
    case "memory":
      return "this process";
  }
}

function hostPortOf(url: string, port: number): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || port}`;
  } catch {
    return "(invalid URL)";
  }
}

/** Loads the config of `-config` (or the default), applying `-driver` when given. */
export async function configFromFlags(
  path: string | undefined,
  driver?: string,
): Promise<QueueConfig> {
  const config = await loadConfig(path);
  if (driver !== undefined) {
    if (!(DRIVER_CHOICES as readonly string[]).includes(driver)) {
      throw new UsageError(
        `Flag -driver must be one of redis, database, sqlite, memory, not "${driver}".`,
      );
    }
    config.driver = (driver === "mysql" ? "database" : driver) as DriverName;
  }
  return config;
}

/**
 * Creates and connects a Manager. Throws an Error whose message is one
 * sentence naming the driver and where it connects when the backend cannot be
 * reached within `timeoutMs`.
 */
export async function openManager(config: QueueConfig, timeoutMs = 15_000): Promise<Manager> {
  const manager = new Manager(config);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      manager.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${timeoutMs / 1000} s`)),
          timeoutMs,
        );
      }),
    ]);
    return manager;
  } catch (error) {
    await manager.close().catch(() => {});
    const reason = redact((error as Error).message?.split("\n")[0] ?? String(error));
    const where = backendAddress(config);
    // The drivers' own sentence already names host:port; keep it as it is.
    if (reason.includes(where)) throw new Error(reason);
    throw new Error(`Cannot reach the ${config.driver} backend at ${where}: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
}
