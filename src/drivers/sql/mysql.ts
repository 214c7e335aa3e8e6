/**
 * The MySQL/MariaDB dialect (`npm:mysql2/promise`) and {@link MysqlDriver}, the
 * seed's `database` driver. Claims lock rows with `FOR UPDATE SKIP LOCKED`
 * (MySQL 8, MariaDB 10.6+; older servers fall back to `FOR UPDATE`), times come
 * from the server clock, and deadlocks and lock wait timeouts are retried.
 *
 * @module
 */

import mysql from "mysql2/promise";
import { ConnectionError } from "../../errors.ts";
import type { MysqlConfig, TlsConfig } from "../../config_types.ts";
import type { NewJob } from "../driver.ts";
import { SqlDriver } from "../sql_driver.ts";
import { Wakeup } from "../wakeup.ts";
import {
  DEFAULT_TABLES,
  type Dialect,
  SCHEMA_VERSION,
  type SqlConn,
  type SqlFragments,
  type SqlRow,
  type SqlTables,
  type SqlValue,
  tablesFor,
} from "./dialect.ts";

/** Deadlock (1213) and lock wait timeout (1205): roll back and run again. */
const RETRIED_ERRNOS = new Set([1213, 1205]);
const RETRY_LIMIT = 50;
const LOST_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
]);

/** Anything with mysql2's promise `query` (a Pool, Connection or PoolConnection). */
export interface MysqlQueryable {
  /** mysql2/promise `query(sql, values)`, or `query({ sql, timeout }, values)`. */
  query(sql: string | { sql: string; timeout?: number }, values?: unknown): Promise<unknown>;
}

/** Extra settings of the MySQL driver beyond the `mysql:` block. */
export interface MysqlDriverOptions {
  /** Force (true) or forbid (false) SKIP LOCKED; default: detected from the server version. */
  skipLocked?: boolean;
}

/** One Wakeup per server, database and table, shared by the drivers of this process. */
const wakeups = new Map<string, Wakeup>();

function fragments(skipLocked: boolean): SqlFragments {
  return {
    now: "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)",
    div: (left, right) => `(${left}) DIV (${right})`,
    claimLock: skipLocked ? " FOR UPDATE SKIP LOCKED" : " FOR UPDATE",
    rowLock: " FOR UPDATE",
    onConflict: () => "ON DUPLICATE KEY UPDATE",
    excluded: (column) => `VALUES(${column})`,
  };
}

/** True when the server understands SKIP LOCKED (MySQL 8.0.1+, MariaDB 10.6+). */
export function supportsSkipLocked(version: string): boolean {
  const [major, minor] = version.split(/[.-]/).map((part) => parseInt(part, 10));
  if (/mariadb/i.test(version)) return major > 10 || (major === 10 && minor >= 6);
  return major >= 8;
}

function sslOption(ssl: boolean | TlsConfig | undefined): mysql.PoolOptions["ssl"] {
  if (!ssl) return undefined;
  if (ssl === true) return {};
  const read = (value?: string) =>
    value && !value.includes("-----BEGIN") ? Deno.readTextFileSync(value) : value;
  return {
    ca: read(ssl.ca),
    cert: read(ssl.cert),
    key: read(ssl.key),
    rejectUnauthorized: ssl.rejectUnauthorized ?? true,
  };
}

/** Where the config points: host, port, user and database, read from the URL when there is one. */
function endpoint(
  config: MysqlConfig,
): { host: string; port: number; user: string; database: string } {
  if (config.url) {
    const url = new URL(config.url);
    return {
      host: url.hostname,
      port: Number(url.port || 3306),
      user: decodeURIComponent(url.username),
      database: decodeURIComponent(url.pathname.replace(/^\//, "")),
    };
  }
  return { host: config.host, port: config.port, user: config.username, database: config.database };
}

/** The MySQL/MariaDB dialect over a mysql2 pool. */
export class MysqlDialect implements Dialect {
  /** Always "database", the seed's name for this driver. */
  readonly driverName = "database";
  /** "mysql user@host:port/database" (never the password). */
  readonly target: string;
  /** MySQL's SQL fragments (set by `open()` once the server version is known). */
  sql: SqlFragments = fragments(true);
  #config: MysqlConfig;
  #options: MysqlDriverOptions;
  #where: string;
  #pool: mysql.Pool | null = null;
  /**
   * Advances when a connection is found lost. A pooled connection opened in an
   * older generation is replaced, not used: after a network fault the idle
   * ones are likely dead too, and finding that out one read_timeout at a time
   * stalled workers for up to connections x read_timeout.
   */
  #generation = 0;
  #bornIn = new WeakMap<object, number>();
  #wakeup: Wakeup;

  /** Prepares the dialect; the pool is created by `open()`. */
  constructor(config: MysqlConfig, key: string, options: MysqlDriverOptions = {}) {
    this.#config = config;
    this.#options = options;
    const at = endpoint(config);
    this.#where = `${at.host}:${at.port}`;
    this.target = `mysql ${at.user}@${at.host}:${at.port}/${at.database}`;
    const wakeKey = `${this.#where}/${at.database}#${key}`;
    if (!wakeups.has(wakeKey)) wakeups.set(wakeKey, new Wakeup());
    this.#wakeup = wakeups.get(wakeKey)!;
  }

  /**
   * Creates the pool, checks the server answers and detects SKIP LOCKED
   * support. A database that does not exist yet is created, as the tables
   * are, when the user may; otherwise the "unknown database" error stands.
   */
  async open(creating = false): Promise<void> {
    if (this.#pool) return;
    const c = this.#config;
    const pool = mysql.createPool({
      ...(c.url ? { uri: c.url } : {
        host: c.host,
        port: c.port,
        user: c.username,
        password: c.password,
        database: c.database,
      }),
      ssl: sslOption(c.ssl),
      connectionLimit: Math.max(1, c.maxOpenConns ?? 10),
      maxIdle: Math.max(0, Math.min(c.maxIdleConns ?? 10, c.maxOpenConns ?? 10)),
      connectTimeout: c.connectTimeoutMs ?? 10_000,
      supportBigNumbers: true,
      charset: "utf8mb4_bin",
    });
    // Runs first on every new connection, before any query of ours.
    pool.on("connection", (conn) => {
      this.#bornIn.set(conn, this.#generation);
      conn.query("SET time_zone = '+00:00'");
      conn.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    });
    try {
      const [rows] = await pool.query("SELECT VERSION() AS version");
      const version = String((rows as SqlRow[])[0].version);
      this.sql = fragments(this.#options.skipLocked ?? supportsSkipLocked(version));
    } catch (error) {
      await pool.end().catch(() => {});
      const unknownDatabase = (error as { errno?: number }).errno === 1049;
      if (unknownDatabase && !creating && await this.#createDatabase()) return this.open(true);
      throw this.#wrap(error);
    }
    this.#pool = pool;
  }

  /** Creates the configured database; false when the name is odd or the user may not. */
  async #createDatabase(): Promise<boolean> {
    const { host, port, user, database } = endpoint(this.#config);
    if (!/^[A-Za-z0-9_$]{1,64}$/.test(database)) return false;
    try {
      const conn = await mysql.createConnection({
        host,
        port,
        user,
        password: this.#config.url
          ? decodeURIComponent(new URL(this.#config.url).password)
          : this.#config.password,
        ssl: sslOption(this.#config.ssl),
        connectTimeout: this.#config.connectTimeoutMs ?? 10_000,
      });
      try {
        await conn.query(`CREATE DATABASE IF NOT EXISTS \`${database}\``);
      } finally {
        await conn.end().catch(() => {});
      }
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Ends the pool. Ending sends each connection a QUIT and waits for the
   * server's close, which never comes on a half-open socket: wait at most
   * `read_timeout` for it, then leave the sockets to the process's exit.
   */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = null;
    this.#wakeup.notify();
    if (!pool) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      pool.end().catch(() => {}),
      new Promise((resolve) => timer = setTimeout(resolve, this.#readTimeoutMs)),
    ]);
    clearTimeout(timer);
  }

  /** Creates the schema (version 1) when missing. */
  async createSchema(t: SqlTables): Promise<void> {
    for (const statement of schemaStatements(t)) await this.run(statement);
    await this.run(
      `INSERT IGNORE INTO ${t.schema} (version, applied_at) VALUES (?, ${this.sql.now})`,
      [SCHEMA_VERSION],
    );
  }

  /** Runs a query on any pooled connection. */
  async query(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]> {
    return await this.#retry(() => this.#once((conn) => conn.query(sql, params)));
  }

  /** Runs a statement on any pooled connection (autocommit); returns the rows changed. */
  async run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return await this.#retry(() => this.#once((conn) => conn.run(sql, params)));
  }

  /**
   * One autocommit statement on a pooled connection. A connection that was
   * lost or did not answer within `read_timeout` is destroyed, never handed
   * back to the pool (where every later statement would queue behind it).
   */
  async #once<T>(fn: (conn: SqlConn) => Promise<T>): Promise<T> {
    const conn = await this.#acquire();
    try {
      const result = await fn(adapt(conn, this.#readTimeoutMs));
      conn.release();
      return result;
    } catch (error) {
      if (isLost(error)) this.#discard(conn);
      else conn.release();
      throw error;
    }
  }

  /**
   * A pooled connection, or an error once connect_timeout + read_timeout have
   * passed: mysql2's pool waits for a free connection without any limit, and a
   * worker must never wait forever. A connection that arrives too late goes back.
   */
  async #acquire(pool: mysql.Pool = this.#open()): Promise<mysql.PoolConnection> {
    for (let tries = 0;; tries++) {
      const conn = await this.#acquireAny(pool);
      const core = (conn as unknown as { connection?: object }).connection ?? conn;
      if ((this.#bornIn.get(core) ?? this.#generation) >= this.#generation || tries > 64) {
        return conn;
      }
      conn.destroy(); // opened before the last fault: replace it with a fresh one
    }
  }

  /** Drops a connection found lost, and every idle one opened before it. */
  #discard(conn: mysql.PoolConnection): void {
    this.#generation++;
    conn.destroy();
  }

  async #acquireAny(pool: mysql.Pool): Promise<mysql.PoolConnection> {
    const pending = pool.getConnection();
    const limitMs = (this.#config.connectTimeoutMs ?? 10_000) + this.#readTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        pending.then((conn) => conn.release(), () => {});
        reject(
          new ConnectionError(
            `No MySQL connection to ${this.#where} became free within ${limitMs} ms; retry shortly.`,
          ),
        );
      }, limitMs);
    });
    try {
      return await Promise.race([pending, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  get #readTimeoutMs(): number {
    return this.#config.readTimeoutMs ?? 30_000;
  }

  /** One transaction on one pooled connection; deadlocks and lock wait timeouts run it again. */
  async transaction<T>(fn: (conn: SqlConn) => Promise<T>): Promise<T> {
    const pool = this.#open();
    for (let attempt = 0;; attempt++) {
      let conn: mysql.PoolConnection;
      try {
        conn = await this.#acquire(pool);
      } catch (error) {
        throw this.#wrap(error);
      }
      let committing = false;
      const timed = adapt(conn, this.#readTimeoutMs);
      try {
        await timed.run("BEGIN");
        const result = await fn(timed);
        committing = true;
        await timed.run("COMMIT");
        conn.release();
        return result;
      } catch (error) {
        const lost = isLost(error);
        if (lost) this.#discard(conn);
        else {
          await timed.run("ROLLBACK").catch(() => {});
          conn.release();
        }
        const retry = RETRIED_ERRNOS.has(errno(error)) || (lost && !committing && attempt === 0);
        if (!retry || attempt >= RETRY_LIMIT) throw lost ? this.#wrap(error) : error;
        await new Promise((resolve) =>
          setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt))
        );
      }
    }
  }

  /** MySQL cannot tell us about new rows: wakes on a push in this process, after `ms`, or on abort. */
  waitForWork(ms: number, signal?: AbortSignal): Promise<void> {
    return this.#wakeup.wait(ms, signal);
  }

  /** Wakes this process's waiting reserves. */
  notifyWork(): void {
    this.#wakeup.notify();
  }

  /** Turns connection failures into a ConnectionError naming host:port. */
  wrapError(error: unknown): unknown {
    return this.#wrap(error);
  }

  #open(): mysql.Pool {
    if (!this.#pool) {
      throw new ConnectionError(
        `The MySQL pool for ${this.#where} is closed; call connect() first.`,
      );
    }
    return this.#pool;
  }

  async #retry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0;; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (!RETRIED_ERRNOS.has(errno(error)) || attempt >= RETRY_LIMIT) throw this.#wrap(error);
        await new Promise((resolve) =>
          setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt))
        );
      }
    }
  }

  #wrap(error: unknown): unknown {
    if (error instanceof ConnectionError) return error;
    const e = error as { code?: string; errno?: number; message?: string };
    if (
      isLost(error) || e.errno === 1045 || e.errno === 1049 || e.code === "ER_ACCESS_DENIED_ERROR"
    ) {
      return new ConnectionError(
        `Cannot reach MySQL at ${this.#where}: ${
          e.message || e.code
        }. Check that the server runs and the mysql: settings (host, port, username, password, database) are right.`,
        { cause: error },
      );
    }
    return error;
  }
}

function errno(error: unknown): number {
  return Number((error as { errno?: number })?.errno ?? 0);
}

function isLost(error: unknown): boolean {
  const e = error as { code?: string; fatal?: boolean };
  return LOST_CODES.has(String(e?.code)) || e?.fatal === true;
}

/**
 * Adapts a mysql2 Pool, Connection or PoolConnection to the driver's SqlConn.
 * With `timeoutMs`, a statement unanswered for that long fails with mysql2's
 * PROTOCOL_SEQUENCE_TIMEOUT (a lost connection: the caller destroys it).
 */
export function adapt(target: MysqlQueryable, timeoutMs?: number): SqlConn {
  const statement = (sql: string) => timeoutMs ? { sql, timeout: timeoutMs } : sql;
  return {
    async query(sql, params) {
      const [rows] = await target.query(statement(sql), params ?? []) as [unknown];
      return rows as SqlRow[];
    },
    async run(sql, params) {
      const [result] = await target.query(statement(sql), params ?? []) as [
        { affectedRows?: number },
      ];
      return Number(result.affectedRows ?? 0);
    },
  };
}

const ID = "VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL";
const TEXT = "LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL";

function schemaStatements(t: SqlTables): string[] {
  const engine = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";
  return [
    `CREATE TABLE IF NOT EXISTS ${t.jobs} (
      seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, id ${ID}, queue ${ID}, payload ${TEXT},
      attempts INT UNSIGNED NOT NULL DEFAULT 0, available_at BIGINT NOT NULL, reserved_at BIGINT NULL,
      token VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL, created_at BIGINT NOT NULL,
      KEY ${t.jobs}_claim (queue, available_at, seq)) ${engine}`,
    `CREATE TABLE IF NOT EXISTS ${t.failed} (
      seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, id ${ID}, queue ${ID}, payload ${TEXT},
      error ${TEXT}, stack ${TEXT}, attempts INT UNSIGNED NOT NULL, failed_at BIGINT NOT NULL,
      UNIQUE KEY ${t.failed}_id (id), KEY ${t.failed}_queue (queue, failed_at)) ${engine}`,
    `CREATE TABLE IF NOT EXISTS ${t.state} (name ${ID} PRIMARY KEY, value BIGINT NOT NULL) ${engine}`,
    `CREATE TABLE IF NOT EXISTS ${t.pauses} (queue ${ID} PRIMARY KEY, paused_at BIGINT NOT NULL) ${engine}`,
    `CREATE TABLE IF NOT EXISTS ${t.workers} (
      id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
      host VARCHAR(255) NOT NULL, pid INT NOT NULL, queues TEXT NOT NULL, started_at BIGINT NOT NULL,
      last_beat_at BIGINT NOT NULL, processed BIGINT NOT NULL, failed BIGINT NOT NULL,
      current_job VARCHAR(255) NULL) ${engine}`,
    `CREATE TABLE IF NOT EXISTS ${t.metrics} (
      queue ${ID}, minute BIGINT NOT NULL, shard TINYINT UNSIGNED NOT NULL,
      processed BIGINT NOT NULL, failed BIGINT NOT NULL, PRIMARY KEY (queue, minute, shard)) ${engine}`,
    `CREATE TABLE IF NOT EXISTS ${t.durations} (
      queue ${ID}, slot SMALLINT UNSIGNED NOT NULL, ms BIGINT NOT NULL, at BIGINT NOT NULL,
      PRIMARY KEY (queue, slot)) ${engine}`,
    `CREATE TABLE IF NOT EXISTS ${t.schema} (version INT NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL) ${engine}`,
  ];
}

/**
 * The MySQL/MariaDB store (driver name "database").
 *
 * @example
 * ```ts ignore
 * import mysql from "mysql2/promise";
 * import { MysqlDriver } from "./mysql.ts";
 * const driver = new MysqlDriver({
 *   host: "127.0.0.1", port: 3306, username: "app", password: "", database: "app",
 *   maxOpenConns: 10, maxIdleConns: 10, connectTimeoutMs: 10_000,
 * });
 * // Transactional enqueue: the job commits (or rolls back) with the caller's rows.
 * const conn = await mysql.createConnection({ host: "127.0.0.1", user: "app", database: "app" });
 * await conn.beginTransaction();
 * await conn.query("INSERT INTO orders (id) VALUES (?)", [42]);
 * await driver.pushWithin(conn, { id: crypto.randomUUID(), queue: "default", payload: "{}" });
 * await conn.commit();
 * ```
 */
export class MysqlDriver extends SqlDriver {
  /** Creates the driver; the pool opens on `connect()` or first use. */
  constructor(
    config: MysqlConfig,
    tables: { table: string; failedTable: string } = DEFAULT_TABLES,
    options: MysqlDriverOptions = {},
  ) {
    const names = tablesFor(tables);
    super(new MysqlDialect(config, names.jobs, options), names);
  }

  /**
   * Inserts jobs on the caller's mysql2 connection, inside the caller's open
   * transaction: they become visible when, and only if, the caller commits.
   * Workers of this process are woken at once; others find the jobs at their next poll.
   */
  async pushWithin(connection: MysqlQueryable, jobs: NewJob | readonly NewJob[]): Promise<void> {
    await this.db();
    const list = Array.isArray(jobs) ? jobs as readonly NewJob[] : [jobs as NewJob];
    try {
      await this.insertJobs(adapt(connection), list);
    } catch (error) {
      throw (this.dialect as MysqlDialect).wrapError(error);
    }
    this.dialect.notifyWork();
  }
}
