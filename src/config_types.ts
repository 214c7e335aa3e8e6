/**
 * The resolved configuration: what `loadConfig` returns after reading the
 * seed's YAML (seconds) and applying defaults. Durations here are milliseconds.
 *
 * @module
 */

/** The drivers a config can name. `database` is MySQL/MariaDB, as in the seed. */
export type DriverName = "redis" | "database" | "sqlite" | "memory";

/** TLS settings shared by the Redis and MySQL blocks. */
export interface TlsConfig {
  /** PEM text or file path of the CA bundle. */
  ca?: string;
  /** PEM text or file path of the client certificate. */
  cert?: string;
  /** PEM text or file path of the client key. */
  key?: string;
  /** Verify the server certificate (default true). */
  rejectUnauthorized?: boolean;
}

/** The seed's `redis:` block. */
export interface RedisConfig {
  /** Host name (default "localhost"). */
  host: string;
  /** Port (default 6379). */
  port: number;
  /** ACL user name, for Redis 6+ ACLs. */
  username?: string;
  /** Password (from the environment, never the file, in production). */
  password?: string;
  /** Database index (default 0). */
  db: number;
  /** A `redis://` or `rediss://` URL; overrides host, port, password and db. */
  url?: string;
  /** TLS on (true) or its settings. */
  tls?: boolean | TlsConfig;
  /** Redis Cluster seed nodes as "host:port"; when set, the cluster client is used. */
  cluster?: string[];
  /** The seed's pool keys; ioredis multiplexes one connection, see the README. */
  maxIdleConns?: number;
  /** The seed's pool keys; ioredis multiplexes one connection, see the README. */
  maxOpenConns?: number;
  /** Milliseconds before a command times out (ioredis commandTimeout; default 30000). */
  readTimeoutMs?: number;
  /** Milliseconds to connect (ioredis connectTimeout). */
  writeTimeoutMs?: number;
  /** Prefix of every key (default "queue"). */
  prefix: string;
}

/** The seed's `mysql:` block (MySQL 8 or MariaDB 10.6+). */
export interface MysqlConfig {
  /** Host name (default "localhost"). */
  host: string;
  /** Port (default 3306). */
  port: number;
  /** User name (default "root"). */
  username: string;
  /** Password (from the environment in production). */
  password: string;
  /** Database (schema) name. */
  database: string;
  /** A `mysql://user:pass@host:port/db` URL; overrides the fields above. */
  url?: string;
  /** TLS on (true) or its settings. */
  ssl?: boolean | TlsConfig;
  /** Largest number of pooled connections (default 10). */
  maxOpenConns: number;
  /** Idle connections kept in the pool (default 10). */
  maxIdleConns: number;
  /** Milliseconds to connect (default 10000). */
  connectTimeoutMs: number;
  /**
   * Milliseconds one statement may wait for the server's answer before its
   * connection is destroyed (default 30000), so a half-open socket cannot
   * stall a worker.
   */
  readTimeoutMs?: number;
}

/** The embedded store: one SQLite file, safe for several processes on one machine. */
export interface SqliteConfig {
  /** File path (default "./storage/queue.db"), created on first use. */
  path: string;
  /** NORMAL (default) survives process crashes; FULL also survives power loss. */
  synchronous: "NORMAL" | "FULL";
  /** Milliseconds to wait for the write lock (default 5000). */
  busyTimeoutMs: number;
}

/** One queue's settings (`queue.queues.<name>`). */
export interface QueueSettings {
  /** Larger is served first (high: 2, default: 1, low: 0). */
  priority: number;
  /** Worker processes the queue service runs for this queue. */
  processes: number;
  /** Milliseconds one attempt may run. */
  timeoutMs: number;
  /** Attempts before a job fails for good. */
  tries: number;
  /** Milliseconds a reservation lasts before another worker may take the job. */
  retryAfterMs: number;
  /** Milliseconds before each retry (the last repeats). */
  backoffMs: number[];
}

/** `queue.worker`: the worker loop's limits (the seed's WorkerOptions). */
export interface WorkerSettings {
  /** Longest idle wait in ms before looking again (default 3000). */
  sleepMs: number;
  /** Jobs before the worker exits to be restarted; 0: no limit. */
  maxJobs: number;
  /** Milliseconds before the worker exits to be restarted; 0: no limit. */
  maxTimeMs: number;
  /** Milliseconds to rest after each job (default 0). */
  restMs: number;
  /** RSS in MB above which the worker exits to be restarted (default 128). */
  memoryMb: number;
  /** Default attempts (default 3). */
  tries: number;
  /** Default timeout of one attempt in ms (default 60000). */
  timeoutMs: number;
  /** Worker processes per queue when a queue does not say (default 1). */
  processes: number;
  /** Jobs in flight per worker process (default 1). */
  concurrency: number;
}

/** A command or URL that runs raw payloads of a queue (`handlers:`). */
export interface HandlerConfig {
  /** Argument vector; the payload arrives on stdin; exit code 0 is success. */
  command?: string[];
  /** URL that receives the payload as a POST; a 2xx status is success. */
  url?: string;
  /** Extra HTTP headers for `url`. */
  headers?: Record<string, string>;
}

/** Logging (`log:`). */
export interface LogConfig {
  /** "error" | "warn" | "info" | "debug" (default "info"). */
  level: "error" | "warn" | "info" | "debug";
  /** Also append log lines to this file. */
  file?: string;
  /** "text" (default) or "json". */
  format: "text" | "json";
}

/** The `http:` block: dashboard and /metrics (off unless set). */
export interface HttpConfig {
  /** "host:port" to listen on (default "127.0.0.1:8080"). */
  listen: string;
  /** Token required for actions and for non-loopback addresses (from the environment). */
  token?: string;
}

/** One alert rule (`alerts.rules[]`). */
export interface AlertRule {
  /** Rule name, shown in notifications. */
  name: string;
  /** Queue the rule watches ("*" for every configured queue). */
  queue: string;
  /** backlog | oldest_wait | failed | no_workers. */
  kind: "backlog" | "oldest_wait" | "failed" | "no_workers";
  /** Threshold: jobs for backlog/failed, ms for oldest_wait. */
  threshold: number;
  /** Window in ms for `failed` (default one hour). */
  windowMs: number;
  /** "warning" or "critical" (default "warning"). */
  severity: "warning" | "critical";
}

/** `alerts:`: rules and where notifications go. */
export interface AlertsConfig {
  /** Milliseconds between evaluations (default 30000). */
  intervalMs: number;
  /** Webhook that receives each firing/resolved alert as a JSON POST. */
  webhook?: string;
  /** Command (argument vector) that receives each alert as JSON on stdin. */
  command?: string[];
  /** The rules. */
  rules: AlertRule[];
}

/** The whole resolved configuration. */
export interface QueueConfig {
  /** The file it came from, or "(embedded default)". */
  source: string;
  /** Which driver to use. */
  driver: DriverName;
  /** The default queue name. */
  defaultQueue: string;
  /** Largest accepted payload in bytes (default 1 MiB). */
  maxPayloadBytes: number;
  /** Jobs table name for SQL drivers (default "jobs"). */
  table: string;
  /** Failed jobs table name for SQL drivers (default "failed_jobs"). */
  failedTable: string;
  /** Worker loop settings. */
  worker: WorkerSettings;
  /** Configured queues by name. */
  queues: Record<string, QueueSettings>;
  /** Redis connection. */
  redis: RedisConfig;
  /** MySQL/MariaDB connection. */
  mysql: MysqlConfig;
  /** SQLite file. */
  sqlite: SqliteConfig;
  /** Raw payload handlers by queue name. */
  handlers: Record<string, HandlerConfig>;
  /** Job modules to import at start (`deno run` only). */
  jobs: string[];
  /** Logging. */
  log: LogConfig;
  /** Dashboard and metrics endpoint, when configured. */
  http?: HttpConfig;
  /** Alerting, when configured. */
  alerts?: AlertsConfig;
  /** Problems worth a warning that do not stop loading (e.g. timeout >= retry_after). */
  warnings: string[];
}
