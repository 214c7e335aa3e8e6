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
import { assertQueueName } from "./errors.ts";
import { Block } from "./config_schema.ts";
import { DEFAULT_MAX_PAYLOAD_BYTES } from "./wire.ts";
import type {
  AlertRule,
  AlertsConfig,
  DriverName,
  HandlerConfig,
  HttpConfig,
  LogConfig,
  MysqlConfig,
  QueueConfig,
  QueueSettings,
  RedisConfig,
  SqliteConfig,
  TlsConfig,
  WorkerSettings,
} from "./config_types.ts";

export type * from "./config_types.ts";

/** Where the tools look for a config when none is given. */
export const DEFAULT_CONFIG_PATH = "configs/config.yaml";
/** The `source` of the built-in configuration. */
export const EMBEDDED_SOURCE = "(embedded default)";

const DRIVERS: readonly DriverName[] = ["redis", "database", "sqlite", "memory"];

/** The seed's worker defaults. */
const WORKER_DEFAULTS: WorkerSettings = {
  sleepMs: 3000,
  maxJobs: 0,
  maxTimeMs: 0,
  restMs: 0,
  memoryMb: 128,
  tries: 3,
  timeoutMs: 60_000,
  processes: 1,
  concurrency: 1,
};

/** The seed's three queues, used when a config names none. */
function seedQueues(): Record<string, QueueSettings> {
  return {
    high: {
      priority: 2,
      processes: 2,
      timeoutMs: 30_000,
      tries: 5,
      retryAfterMs: 30_000,
      backoffMs: [30_000, 60_000, 180_000],
    },
    default: {
      priority: 1,
      processes: 1,
      timeoutMs: 60_000,
      tries: 3,
      retryAfterMs: 60_000,
      backoffMs: [60_000, 300_000, 900_000],
    },
    low: {
      priority: 0,
      processes: 1,
      timeoutMs: 120_000,
      tries: 2,
      retryAfterMs: 120_000,
      backoffMs: [120_000, 300_000, 600_000],
    },
  };
}

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

function checkQueueName(block: Block, key: string, name: string): void {
  try {
    assertQueueName(name);
  } catch (error) {
    const reason = (error as Error).message.replace(/^Queue name .* is invalid: /, "").replace(
      /\.$/,
      "",
    );
    throw block.error(key, `is not a valid queue name: ${reason}`);
  }
}

function readWorker(block: Block): WorkerSettings {
  block.only([
    "sleep",
    "max_jobs",
    "max_time",
    "rest",
    "memory",
    "tries",
    "timeout",
    "processes",
    "concurrency",
  ]);
  const d = WORKER_DEFAULTS;
  return {
    sleepMs: block.duration("sleep", d.sleepMs),
    maxJobs: block.int("max_jobs", d.maxJobs),
    maxTimeMs: block.duration("max_time", d.maxTimeMs),
    restMs: block.duration("rest", d.restMs),
    memoryMb: block.int("memory", d.memoryMb),
    tries: block.int("tries", d.tries, 1),
    timeoutMs: block.duration("timeout", d.timeoutMs),
    processes: block.int("processes", d.processes, 1, 256),
    concurrency: block.int("concurrency", d.concurrency, 1, 1024),
  };
}

const QUEUE_KEYS = ["priority", "processes", "timeout", "tries", "retry_after", "backoff"];

function readQueues(
  block: Block,
  worker: WorkerSettings,
  warnings: string[],
): Record<string, QueueSettings> {
  if (block.keys().length === 0) return seedQueues();
  const queues: Record<string, QueueSettings> = {};
  for (const name of block.keys()) {
    checkQueueName(block, `${block.path}.${name}`, name);
    const settings = block.block(name).only(QUEUE_KEYS);
    const timeoutMs = settings.duration("timeout", worker.timeoutMs);
    const retryAfterMs = settings.duration("retry_after", Math.max(60_000, timeoutMs + 30_000));
    if (timeoutMs >= retryAfterMs && timeoutMs > 0) {
      warnings.push(
        `${block.source}: queue "${name}" has timeout (${timeoutMs / 1000}s) >= retry_after (${
          retryAfterMs / 1000
        }s); a job still running when its reservation expires may run twice. Make retry_after longer than timeout.`,
      );
    }
    queues[name] = {
      priority: settings.int("priority", 0, -1_000_000, 1_000_000),
      processes: settings.int("processes", worker.processes, 0, 256),
      timeoutMs,
      tries: settings.int("tries", worker.tries, 1),
      retryAfterMs,
      backoffMs: settings.durations("backoff", []),
    };
  }
  return queues;
}

function readTls(block: Block, key: string): boolean | TlsConfig | undefined {
  const value = block.raw(key);
  if (value === undefined || value === null || typeof value === "boolean") {
    return value ?? undefined;
  }
  const tls = block.block(key).only(["ca", "cert", "key", "reject_unauthorized"]);
  return {
    ca: tls.string("ca"),
    cert: tls.string("cert"),
    key: tls.string("key"),
    rejectUnauthorized: tls.bool("reject_unauthorized", true),
  };
}

function readRedis(block: Block): RedisConfig {
  block.only([
    "host",
    "port",
    "username",
    "password",
    "db",
    "url",
    "tls",
    "cluster",
    "max_idle_conns",
    "max_open_conns",
    "read_timeout",
    "write_timeout",
    "prefix",
  ]);
  return {
    host: block.string("host", "localhost"),
    port: block.int("port", 6379, 1, 65535),
    username: block.string("username") || undefined,
    password: block.string("password") || undefined,
    db: block.int("db", 0, 0, 10_000),
    url: block.string("url") || undefined,
    tls: readTls(block, "tls"),
    cluster: block.raw("cluster") === undefined ? undefined : block.strings("cluster"),
    maxIdleConns: block.raw("max_idle_conns") === undefined
      ? undefined
      : block.int("max_idle_conns", 0),
    maxOpenConns: block.raw("max_open_conns") === undefined
      ? undefined
      : block.int("max_open_conns", 0),
    readTimeoutMs: block.raw("read_timeout") === undefined
      ? undefined
      : block.duration("read_timeout", 0),
    writeTimeoutMs: block.raw("write_timeout") === undefined
      ? undefined
      : block.duration("write_timeout", 0),
    prefix: block.string("prefix", "queue"),
  };
}

function readMysql(block: Block): MysqlConfig {
  block.only([
    "host",
    "port",
    "username",
    "password",
    "database",
    "url",
    "ssl",
    "max_open_conns",
    "max_idle_conns",
    "connect_timeout",
  ]);
  return {
    host: block.string("host", "localhost"),
    port: block.int("port", 3306, 1, 65535),
    username: block.string("username", "root"),
    password: block.string("password", ""),
    database: block.string("database", "go_admin"),
    url: block.string("url") || undefined,
    ssl: readTls(block, "ssl"),
    maxOpenConns: block.int("max_open_conns", 10, 1),
    maxIdleConns: block.int("max_idle_conns", 10, 0),
    connectTimeoutMs: block.duration("connect_timeout", 10_000),
  };
}

function readSqlite(block: Block): SqliteConfig {
  block.only(["path", "synchronous", "busy_timeout"]);
  return {
    path: block.string("path", "./storage/queue.db"),
    synchronous: block.choice("synchronous", ["NORMAL", "FULL"] as const, "NORMAL"),
    busyTimeoutMs: block.duration("busy_timeout", 5000),
  };
}

function readHandlers(block: Block): Record<string, HandlerConfig> {
  const handlers: Record<string, HandlerConfig> = {};
  for (const queue of block.keys()) {
    checkQueueName(block, `${block.path}.${queue}`, queue);
    const handler = block.block(queue).only(["command", "url", "headers"]);
    const command = handler.raw("command") === undefined ? undefined : handler.strings("command");
    const url = handler.string("url");
    if ((command === undefined) === (url === undefined)) {
      throw handler.error(
        `handlers.${queue}`,
        'needs exactly one of "command" (an argument list) or "url"',
      );
    }
    if (command?.length === 0) {
      throw handler.error(`handlers.${queue}.command`, "must not be empty");
    }
    const headers = handler.block("headers");
    handlers[queue] = {
      command,
      url,
      headers: Object.fromEntries(headers.keys().map((key) => [key, headers.string(key, "")])),
    };
  }
  return handlers;
}

function readLog(block: Block): LogConfig {
  block.only(["level", "file", "format"]);
  return {
    level: block.choice("level", ["error", "warn", "info", "debug"] as const, "info"),
    file: block.string("file") || undefined,
    format: block.choice("format", ["text", "json"] as const, "text"),
  };
}

function readHttp(block: Block): HttpConfig {
  block.only(["listen", "token"]);
  return {
    listen: block.string("listen", "127.0.0.1:8080"),
    token: block.string("token") || undefined,
  };
}

function readAlerts(block: Block): AlertsConfig {
  block.only(["interval", "webhook", "command", "rules"]);
  const rules = block.raw("rules") ?? [];
  if (!Array.isArray(rules)) throw block.error("alerts.rules", "must be a list of rules");
  return {
    intervalMs: block.duration("interval", 30_000),
    webhook: block.string("webhook") || undefined,
    command: block.raw("command") === undefined ? undefined : block.strings("command"),
    rules: rules.map((rule, index) =>
      readRule(new Block(block.source, `alerts.rules[${index}]`, rule))
    ),
  };
}

function readRule(block: Block): AlertRule {
  block.only(["name", "queue", "kind", "threshold", "window", "severity"]);
  const kind = block.choice(
    "kind",
    ["backlog", "oldest_wait", "failed", "no_workers"] as const,
    "backlog",
  );
  return {
    name: block.string("name", kind),
    queue: block.string("queue", "*"),
    kind,
    threshold: kind === "oldest_wait"
      ? block.duration("threshold", 60_000)
      : block.int("threshold", 0),
    windowMs: block.duration("window", 3_600_000),
    severity: block.choice("severity", ["warning", "critical"] as const, "warning"),
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
