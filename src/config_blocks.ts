/**
 * Readers of the config's blocks: each validates one YAML block with
 * {@link Block} and returns its resolved, millisecond form with defaults.
 *
 * @module
 */

import { assertQueueName } from "./errors.ts";
import { Block } from "./config_schema.ts";
import type {
  AlertRule,
  AlertsConfig,
  HandlerConfig,
  HttpConfig,
  LogConfig,
  MysqlConfig,
  QueueSettings,
  RedisConfig,
  SqliteConfig,
  TlsConfig,
  WorkerSettings,
} from "./config_types.ts";

/** The seed's worker defaults. */
export const WORKER_DEFAULTS: WorkerSettings = {
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
export function seedQueues(): Record<string, QueueSettings> {
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

/** Throws a ConfigError naming `key` unless `name` is a valid queue name. */
export function checkQueueName(block: Block, key: string, name: string): void {
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

/** Reads `queue.worker`. */
export function readWorker(block: Block): WorkerSettings {
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

export function readQueues(
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

export function readRedis(block: Block): RedisConfig {
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
    // A default command timeout, so a half-open socket cannot stall a worker for good.
    readTimeoutMs: block.duration("read_timeout", 30_000),
    writeTimeoutMs: block.raw("write_timeout") === undefined
      ? undefined
      : block.duration("write_timeout", 0),
    prefix: block.string("prefix", "queue"),
  };
}

export function readMysql(block: Block): MysqlConfig {
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
    "read_timeout",
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
    readTimeoutMs: block.duration("read_timeout", 30_000),
  };
}

export function readSqlite(block: Block): SqliteConfig {
  block.only(["path", "synchronous", "busy_timeout"]);
  return {
    path: block.string("path", "./storage/queue.db"),
    synchronous: block.choice("synchronous", ["NORMAL", "FULL"] as const, "NORMAL"),
    busyTimeoutMs: block.duration("busy_timeout", 5000),
  };
}

export function readHandlers(block: Block): Record<string, HandlerConfig> {
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

export function readLog(block: Block): LogConfig {
  block.only(["level", "file", "format"]);
  return {
    level: block.choice("level", ["error", "warn", "info", "debug"] as const, "info"),
    file: block.string("file") || undefined,
    format: block.choice("format", ["text", "json"] as const, "text"),
  };
}

export function readHttp(block: Block): HttpConfig {
  block.only(["listen", "token"]);
  return {
    listen: block.string("listen", "127.0.0.1:8080"),
    token: block.string("token") || undefined,
  };
}

export function readAlerts(block: Block): AlertsConfig {
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
