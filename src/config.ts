/**
 * Configuration: the seed's YAML (`queue`, `redis`, `mysql`, plus `sqlite`,
 * `handlers`, `jobs`, `log`, `http`, `alerts`), seconds in YAML and
 * milliseconds once resolved, `${VAR}` / `${VAR:-default}` interpolation,
 * environment overrides for the driver and credentials, defaults for every
 * key, and errors that name the file, the key and the problem.
 *
 * @module
 */

import { parse as parseYaml } from "yaml";
import { ConfigError } from "./errors.ts";
import { Block } from "./config_schema.ts";
import {
  checkQueueName,
  readAlerts,
  readHandlers,
  readHttp,
  readLog,
  readMysql,
  readQueues,
  readRedis,
  readSqlite,
  readWorker,
} from "./config_blocks.ts";
import { DEFAULT_MAX_PAYLOAD_BYTES } from "./wire.ts";
import type { DriverName, QueueConfig } from "./config_types.ts";

export type * from "./config_types.ts";

/** Where the tools look for a config when none is given. */
export const DEFAULT_CONFIG_PATH = "configs/config.yaml";
/** The `source` of the built-in configuration. */
export const EMBEDDED_SOURCE = "(embedded default)";

const DRIVERS: readonly DriverName[] = ["redis", "database", "sqlite", "memory"];

/**
 * The embedded default: SQLite at `./storage/queue.db` with the seed's queues,
 * so the tools run with no server and no config file.
 */
export function defaultConfig(): QueueConfig {
  return resolveConfig({ queue: { driver: "sqlite" } }, EMBEDDED_SOURCE);
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Environment to interpolate and override from (default: `Deno.env`). */
  env?: Record<string, string>;
}

/**
 * Loads a YAML config file. With no path, uses `configs/config.yaml` when it
 * exists and the embedded SQLite default otherwise.
 *
 * @example
 * ```ts
 * import { loadConfig } from "../mod.ts";
 * const config = await loadConfig();
 * console.log(config.driver, Object.keys(config.queues));
 * ```
 */
export async function loadConfig(
  path?: string,
  options: LoadConfigOptions = {},
): Promise<QueueConfig> {
  const env = options.env ?? Deno.env.toObject();
  if (path === undefined) {
    if (!(await exists(DEFAULT_CONFIG_PATH))) return applyEnvOverrides(defaultConfig(), env);
    path = DEFAULT_CONFIG_PATH;
  }
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "does not exist"
      : (error as Error).message;
    throw new ConfigError(`Config file ${path} cannot be read: ${reason}.`);
  }
  return parseConfig(text, path, env);
}

/** Parses YAML text as a config (interpolating `${VAR}` from `env`). */
export function parseConfig(
  text: string,
  source: string,
  env: Record<string, string> = {},
): QueueConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    const message = (error as Error).message.split("\n")[0];
    throw new ConfigError(`${source}: the YAML is not valid: ${message}.`);
  }
  return applyEnvOverrides(resolveConfig(interpolate(raw, env, source), source), env);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces `${VAR}` and `${VAR:-default}` in every string value. */
function interpolate(value: unknown, env: Record<string, string>, source: string): unknown {
  if (typeof value === "string") {
    return value.replace(VARIABLE, (_match, name: string, fallback?: string) => {
      const found = env[name];
      if (found !== undefined && found !== "") return found;
      if (fallback !== undefined) return fallback;
      throw new ConfigError(
        `${source}: the environment variable ${name} is not set (write \${${name}:-default} to allow a default).`,
      );
    });
  }
  if (Array.isArray(value)) return value.map((item) => interpolate(item, env, source));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolate(item, env, source)]),
    );
  }
  return value;
}

/**
 * Environment overrides, applied over the file: QUEUE_DRIVER, QUEUE_REDIS_URL,
 * QUEUE_REDIS_PASSWORD, QUEUE_MYSQL_URL, QUEUE_MYSQL_PASSWORD, QUEUE_SQLITE_PATH,
 * QUEUE_HTTP_TOKEN (the `http.token`, when the config has an `http:` block).
 */
export function applyEnvOverrides(config: QueueConfig, env: Record<string, string>): QueueConfig {
  const driver = env.QUEUE_DRIVER;
  if (driver) {
    if (!DRIVERS.includes(driver as DriverName)) {
      throw new ConfigError(`QUEUE_DRIVER must be one of ${DRIVERS.join(", ")} (got "${driver}").`);
    }
    config.driver = driver as DriverName;
  }
  if (env.QUEUE_REDIS_URL) config.redis.url = env.QUEUE_REDIS_URL;
  if (env.QUEUE_REDIS_PASSWORD) config.redis.password = env.QUEUE_REDIS_PASSWORD;
  if (env.QUEUE_MYSQL_URL) config.mysql.url = env.QUEUE_MYSQL_URL;
  if (env.QUEUE_MYSQL_PASSWORD) config.mysql.password = env.QUEUE_MYSQL_PASSWORD;
  if (env.QUEUE_SQLITE_PATH) config.sqlite.path = env.QUEUE_SQLITE_PATH;
  if (env.QUEUE_HTTP_TOKEN && config.http) config.http.token = env.QUEUE_HTTP_TOKEN;
  return config;
}

const TOP_KEYS = ["queue", "redis", "mysql", "sqlite", "handlers", "jobs", "log", "http", "alerts"];

/**
 * Validates a parsed config object and fills in defaults. Throws
 * {@link ConfigError} naming `source`, the key and the problem. Warnings
 * (such as timeout >= retry_after) go to the result's `warnings`.
 */
export function resolveConfig(raw: unknown, source: string): QueueConfig {
  const warnings: string[] = [];
  const root = new Block(source, "", raw).only(TOP_KEYS);
  const queue = root.block("queue").only([
    "driver",
    "queue",
    "worker",
    "queues",
    "max_payload",
    "table",
    "failed_table",
  ]);
  const worker = readWorker(queue.block("worker"));
  const queues = readQueues(queue.block("queues"), worker, warnings);
  const defaultQueue = queue.string("queue", "default");
  checkQueueName(queue, "queue.queue", defaultQueue);
  return {
    source,
    driver: queue.choice("driver", DRIVERS, "sqlite"),
    defaultQueue,
    maxPayloadBytes: queue.int("max_payload", DEFAULT_MAX_PAYLOAD_BYTES, 1),
    table: queue.string("table", "jobs"),
    failedTable: queue.string("failed_table", "failed_jobs"),
    worker,
    queues,
    redis: readRedis(root.block("redis")),
    mysql: readMysql(root.block("mysql")),
    sqlite: readSqlite(root.block("sqlite")),
    handlers: readHandlers(root.block("handlers")),
    jobs: root.strings("jobs"),
    log: readLog(root.block("log")),
    http: root.raw("http") === undefined ? undefined : readHttp(root.block("http")),
    alerts: root.raw("alerts") === undefined ? undefined : readAlerts(root.block("alerts")),
    warnings,
  };
}

/**
 * The seed's Manager config shape: `{ driver: "redis", options: { connection:
 * "redis://localhost:6379/0", queue: "default" } }`. `connection` is a URL
 * (redis://, rediss://, mysql://) or, for sqlite, a file path.
 */
export interface SeedManagerConfig {
  /** "redis", "database" (MySQL), "sqlite" or "memory". */
  driver: DriverName;
  /** Connection and default queue. */
  options?: { connection?: string; queue?: string; [key: string]: unknown };
}

/** Turns the seed's Manager config shape into a full config. */
export function fromSeedConfig(seed: SeedManagerConfig): QueueConfig {
  if (!DRIVERS.includes(seed.driver)) {
    throw new ConfigError(`driver must be one of ${DRIVERS.join(", ")} (got "${seed.driver}").`);
  }
  const config = resolveConfig(
    { queue: { driver: seed.driver, queue: seed.options?.queue } },
    "Manager config",
  );
  const connection = seed.options?.connection;
  if (connection) {
    if (seed.driver === "redis") config.redis.url = connection;
    else if (seed.driver === "database") config.mysql.url = connection;
    else if (seed.driver === "sqlite") config.sqlite.path = connection;
  }
  return config;
}
