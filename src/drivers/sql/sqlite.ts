/**
 * The SQLite dialect (`node:sqlite`, built into Deno) and {@link SqliteDriver},
 * the embedded default store: one file, WAL mode, safe for several worker
 * processes on one machine. Writers take the lock with `BEGIN IMMEDIATE`, so
 * two claims never interleave; SQLITE_BUSY is waited out and retried.
 *
 * @module
 */

import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { ConnectionError } from "../../errors.ts";
import type { SqliteConfig } from "../../config_types.ts";
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

const BUSY_RETRY_LIMIT_MS = 60_000;
/** A WAL event can arrive while the commit is still being written: claim again shortly after. */
const EVENT_RECHECK_MS = [1, 5];

const FRAGMENTS: SqlFragments = {
  now: "CAST(unixepoch('subsec') * 1000 AS INTEGER)",
  div: (left, right) => `(${left}) / (${right})`,
  claimLock: "",
  rowLock: "",
  onConflict: (keys) => `ON CONFLICT (${keys.join(", ")}) DO UPDATE SET`,
  excluded: (column) => `excluded.${column}`,
};

function isBusy(error: unknown): boolean {
  const code = (error as { errcode?: number }).errcode;
  if (typeof code === "number") return (code & 0xff) === 5 || (code & 0xff) === 6;
  return /database is (locked|busy)/i.test(String((error as Error)?.message));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function retryBusy<T>(fn: () => T): Promise<T> {
  const started = Date.now();
  while (true) {
    try {
      return fn();
    } catch (error) {
      if (!isBusy(error) || Date.now() - started > BUSY_RETRY_LIMIT_MS) throw error;
      await sleep(1 + Math.random() * 5);
    }
  }
}

/**
 * One open database file, shared by every driver of this process that uses it:
 * one connection and one lock, so two drivers of one process never wait on each
 * other's SQLite lock (a blocking busy wait there would stall the event loop
 * that the lock holder needs to finish its transaction).
 */
class SqliteFile {
  readonly wakeup = new Wakeup();
  refs = 0;
  #db: DatabaseSync;
  #path: string;
  #statements = new Map<string, StatementSync>();
  #locked = false;
  #queue: (() => void)[] = [];
  #watcher: Deno.FsWatcher | null = null;

  constructor(path: string, config: SqliteConfig) {
    this.#path = path;
    if (path !== ":memory:") {
      const dir = path.replace(/[\\/][^\\/]*$/, "");
      if (dir && dir !== path) Deno.mkdirSync(dir, { recursive: true });
    }
    this.#db = new DatabaseSync(path);
    this.#db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.round(config.busyTimeoutMs ?? 5000))}`);
    this.#db.exec("PRAGMA journal_mode = WAL");
    this.#db.exec(`PRAGMA synchronous = ${config.synchronous === "FULL" ? "FULL" : "NORMAL"}`);
  }

  get inTransaction(): boolean {
    return this.#db.isTransaction;
  }

  close(): void {
    this.#watcher?.close();
    this.#watcher = null;
    this.#statements.clear();
    this.#db.close();
    this.wakeup.notify();
  }

  async locked<T>(fn: () => T | Promise<T>): Promise<T> {
    if (this.#locked) await new Promise<void>((resolve) => this.#queue.push(resolve));
    this.#locked = true;
    try {
      return await fn();
    } finally {
      const next = this.#queue.shift();
      if (next) next();
      else this.#locked = false;
    }
  }

  all(sql: string, params: readonly SqlValue[] = []): SqlRow[] {
    return this.#statement(sql).all(...(params as SQLInputValue[])) as SqlRow[];
  }

  run(sql: string, params: readonly SqlValue[] = []): number {
    return Number(this.#statement(sql).run(...(params as SQLInputValue[])).changes);
  }

  exec(sql: string): void {
    this.#db.exec(sql);
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * Waits for a change of the file. When it was not being watched, starts
   * watching and returns after a millisecond, so the caller claims once more:
   * a push committed before the watch began is found by that claim, not missed.
   */
  waitForWork(ms: number, signal?: AbortSignal): Promise<void> {
    if (!this.#watcher && this.watch()) {
      return this.wakeup.wait(Math.min(ms, EVENT_RECHECK_MS[0]), signal);
    }
    return this.wakeup.wait(ms, signal);
  }

  #unwatch(watcher: Deno.FsWatcher): void {
    if (this.#watcher === watcher) this.#watcher = null;
    try {
      watcher.close();
    } catch {
      // already closed
    }
  }

  /**
   * Starts watching the WAL file (if not already); each change wakes the
   * waiting reserves. Returns true when it started a new watch.
   */
  watch(): boolean {
    if (this.#watcher || this.#path === ":memory:") return false;
    const wal = `${this.#path}-wal`;
    try {
      this.#watcher = Deno.watchFs(exists(wal) ? wal : this.#path, { recursive: false });
    } catch {
      return false; // no file events here: the poll at waitMs still finds the work
    }
    const watcher = this.#watcher;
    let pending = 0;
    (async () => {
      try {
        for await (const _event of watcher) {
          // Nobody waits: this process is busy, and the events are mostly its own
          // commits (several per commit). Handling them halved throughput, so stop
          // watching; the next reserve that has to wait starts watching again.
          if (this.wakeup.waiting === 0) {
            this.#unwatch(watcher);
            break;
          }
          if (pending > 0) continue;
          for (const delay of EVENT_RECHECK_MS) {
            pending++;
            setTimeout(() => {
              pending--;
              this.wakeup.notify();
            }, delay);
          }
        }
      } catch {
        // the watcher was closed
      }
    })();
    return true;
  }
}

/** Open files of this process by absolute path. */
const files = new Map<string, SqliteFile>();

/** The SQLite dialect over this process's shared connection to one file. */
export class SqliteDialect implements Dialect {
  /** Always "sqlite". */
  readonly driverName = "sqlite";
  /** "sqlite <path>". */
  readonly target: string;
  /** SQLite's SQL fragments. */
  readonly sql: SqlFragments = FRAGMENTS;
  #config: SqliteConfig;
  #key: string;
  #file: SqliteFile | null = null;
  #inner: SqlConn;

  /** Prepares the dialect; the file is opened by `open()`. */
  constructor(config: SqliteConfig) {
    this.#config = config;
    this.#key = absolute(config.path);
    this.target = `sqlite ${config.path}`;
    this.#inner = {
      query: (sql, params) => Promise.resolve(this.#open().all(sql, params)),
      run: (sql, params) => Promise.resolve(this.#open().run(sql, params)),
    };
  }

  /** Opens the file (creating it and its directory), WAL, synchronous and busy timeout. */
  open(): Promise<void> {
    if (this.#file) return Promise.resolve();
    let file = files.get(this.#key);
    if (!file) {
      try {
        file = new SqliteFile(this.#config.path, this.#config);
      } catch (error) {
        throw new ConnectionError(
          `Cannot open the SQLite database ${this.#config.path}: ${
            (error as Error).message
          }. Check that its directory is writable (sqlite.path).`,
          { cause: error },
        );
      }
      files.set(this.#key, file);
    }
    file.refs++;
    this.#file = file;
    return Promise.resolve();
  }

  /** Releases this process's connection; the last driver of a file closes it. */
  close(): Promise<void> {
    const file = this.#file;
    this.#file = null;
    if (file && --file.refs === 0) {
      files.delete(this.#key);
      file.close();
    }
    return Promise.resolve();
  }

  /** Creates the schema (version 1) when missing. */
  async createSchema(t: SqlTables): Promise<void> {
    await this.transaction(async (conn) => {
      for (const statement of schemaStatements(t)) await conn.run(statement);
      await conn.run(
        `INSERT OR IGNORE INTO ${t.schema} (version, applied_at) VALUES (?, ${FRAGMENTS.now})`,
        [SCHEMA_VERSION],
      );
    });
  }

  /** Runs a query outside any transaction (waits for this connection's current one). */
  async query(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]> {
    const file = this.#open();
    return await file.locked(() => retryBusy(() => file.all(sql, params)));
  }

  /** Runs a statement outside any transaction; returns the rows changed. */
  async run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    const file = this.#open();
    return await file.locked(() => retryBusy(() => file.run(sql, params)));
  }

  /** A `BEGIN IMMEDIATE` transaction, retried while the file is busy. */
  transaction<T>(fn: (conn: SqlConn) => Promise<T>): Promise<T> {
    const file = this.#open();
    return file.locked(async () => {
      const started = Date.now();
      while (true) {
        try {
          file.exec("BEGIN IMMEDIATE");
        } catch (error) {
          if (!isBusy(error) || Date.now() - started > BUSY_RETRY_LIMIT_MS) throw error;
          await sleep(1 + Math.random() * 5);
          continue;
        }
        try {
          const result = await fn(this.#inner);
          file.exec("COMMIT");
          return result;
        } catch (error) {
          if (file.inTransaction) file.exec("ROLLBACK");
          if (!isBusy(error) || Date.now() - started > BUSY_RETRY_LIMIT_MS) throw error;
          await sleep(1 + Math.random() * 5);
        }
      }
    });
  }

  /** Waits for a push in this process, a change of the WAL file, `ms`, or `signal`. */
  waitForWork(ms: number, signal?: AbortSignal): Promise<void> {
    return this.#file?.waitForWork(ms, signal) ?? Promise.resolve();
  }

  /** Wakes this process's waiting reserves. */
  notifyWork(): void {
    this.#file?.wakeup.notify();
  }

  #open(): SqliteFile {
    if (!this.#file) {
      throw new ConnectionError(`The SQLite database ${this.#config.path} is closed.`);
    }
    return this.#file;
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function absolute(path: string): string {
  if (path === ":memory:" || path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path)) return path;
  return `${Deno.cwd()}/${path}`;
}

function schemaStatements(t: SqlTables): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${t.jobs} (
      seq INTEGER PRIMARY KEY, id TEXT NOT NULL, queue TEXT NOT NULL, payload TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0, available_at INTEGER NOT NULL, reserved_at INTEGER,
      token TEXT, created_at INTEGER NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS ${t.jobs}_claim ON ${t.jobs} (queue, available_at)`,
    `CREATE TABLE IF NOT EXISTS ${t.failed} (
      seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, queue TEXT NOT NULL, payload TEXT NOT NULL,
      error TEXT NOT NULL, stack TEXT NOT NULL, attempts INTEGER NOT NULL, failed_at INTEGER NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS ${t.failed}_queue ON ${t.failed} (queue, failed_at)`,
    `CREATE TABLE IF NOT EXISTS ${t.state} (name TEXT PRIMARY KEY, value INTEGER NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${t.pauses} (queue TEXT PRIMARY KEY, paused_at INTEGER NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${t.workers} (
      id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, queues TEXT NOT NULL,
      started_at INTEGER NOT NULL, last_beat_at INTEGER NOT NULL, processed INTEGER NOT NULL,
      failed INTEGER NOT NULL, current_job TEXT)`,
    `CREATE TABLE IF NOT EXISTS ${t.metrics} (
      queue TEXT NOT NULL, minute INTEGER NOT NULL, shard INTEGER NOT NULL,
      processed INTEGER NOT NULL, failed INTEGER NOT NULL, PRIMARY KEY (queue, minute, shard))`,
    `CREATE TABLE IF NOT EXISTS ${t.durations} (
      queue TEXT NOT NULL, slot INTEGER NOT NULL, ms INTEGER NOT NULL, at INTEGER NOT NULL,
      PRIMARY KEY (queue, slot))`,
    `CREATE TABLE IF NOT EXISTS ${t.schema} (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
  ];
}

/**
 * The embedded SQLite store (driver name "sqlite").
 *
 * @example
 * ```ts
 * import { SqliteDriver } from "./sqlite.ts";
 * const driver = new SqliteDriver({ path: "./storage/queue.db", synchronous: "NORMAL", busyTimeoutMs: 5000 });
 * ```
 */
export class SqliteDriver extends SqlDriver {
  /** Opens nothing yet; the file is created on `connect()` or first use. */
  constructor(
    config: SqliteConfig,
    tables: { table: string; failedTable: string } = DEFAULT_TABLES,
  ) {
    const names = tablesFor(tables);
    super(new SqliteDialect(config), names);
  }
}
