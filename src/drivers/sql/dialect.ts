/**
 * What the shared SQL driver (`../sql_driver.ts`) needs from a database: a
 * connection that runs parameterised statements, transactions that retry the
 * store's transient conflicts, a wake-up source, and the few SQL fragments in
 * which SQLite and MySQL differ.
 *
 * @module
 */

import { ConfigError } from "../../errors.ts";

/** A value bound to a `?` placeholder. */
export type SqlValue = string | number | null;

/** A row as returned by a query: column name to value. */
export type SqlRow = Record<string, unknown>;

/** Runs statements on one connection (or on the pool, outside a transaction). */
export interface SqlConn {
  /** Runs a query and returns its rows. */
  query(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]>;
  /** Runs a statement and returns the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

/** The SQL text in which the dialects differ. */
export interface SqlFragments {
  /** An expression for the store's clock, integer milliseconds since the epoch. */
  readonly now: string;
  /** Integer division of two integer expressions. */
  div(left: string, right: string): string;
  /** Appended to the claim's SELECT to lock the rows it returns (may be ""). */
  readonly claimLock: string;
  /** Appended to a SELECT that locks one known row until the transaction ends (may be ""). */
  readonly rowLock: string;
  /** The clause that turns an INSERT into an upsert on the given key columns. */
  onConflict(keys: readonly string[]): string;
  /** Inside the upsert's update list: the value the INSERT tried to write. */
  excluded(column: string): string;
}

/** The table names one driver uses; every name is validated. */
export interface SqlTables {
  /** Jobs waiting, delayed or reserved. */
  jobs: string;
  /** The failed store. */
  failed: string;
  /** Small named values: the stop broadcast. */
  state: string;
  /** Paused queues. */
  pauses: string;
  /** Worker heartbeats. */
  workers: string;
  /** Per-(queue, minute, shard) counts; minute 0 holds the all-time totals. */
  metrics: string;
  /** The bounded ring of recent job durations per queue. */
  durations: string;
  /** Applied schema versions. */
  schema: string;
}

/** A database dialect: connections, transactions, wake-ups and SQL fragments. */
export interface Dialect extends SqlConn {
  /** The driver name as in config ("sqlite" or "database"). */
  readonly driverName: string;
  /** Where it connects, without secrets. */
  readonly target: string;
  /** The SQL text that differs between dialects. */
  readonly sql: SqlFragments;
  /** Opens the store (idempotent). Throws ConnectionError. */
  open(): Promise<void>;
  /** Closes the store. */
  close(): Promise<void>;
  /** Creates the tables and indexes of schema version 1 when missing. */
  createSchema(tables: SqlTables): Promise<void>;
  /**
   * Runs `fn` in one transaction that may write; commits when it returns and
   * rolls back when it throws. Transient conflicts (SQLITE_BUSY, deadlocks,
   * lock wait timeouts) roll back and run `fn` again.
   */
  transaction<T>(fn: (conn: SqlConn) => Promise<T>): Promise<T>;
  /**
   * Resolves when the store may hold new work: a push in this process, a
   * change seen by another process (where the store can tell), after `ms`, or
   * when `signal` aborts.
   */
  waitForWork(ms: number, signal?: AbortSignal): Promise<void>;
  /** Wakes this process's waiting reserves (after a push). */
  notifyWork(): void;
}

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Throws ConfigError unless `name` is a safe SQL table name. */
export function assertTableName(name: string): string {
  if (typeof name !== "string" || !TABLE_NAME.test(name)) {
    throw new ConfigError(
      `Table name ${
        JSON.stringify(name)
      } is invalid: use a letter or '_' then up to 63 letters, digits or '_' (queue.table, queue.failed_table).`,
    );
  }
  return name;
}

/** The tables of a driver: the configured two plus helpers named after the jobs table. */
export function tablesFor(names: { table: string; failedTable: string }): SqlTables {
  const jobs = assertTableName(names.table);
  const helper = (suffix: string) => {
    const name = `${jobs}_${suffix}`;
    if (name.length > 64) {
      throw new ConfigError(
        `Table name "${jobs}" is too long: the driver adds "_${suffix}" and MySQL allows 64 characters (queue.table).`,
      );
    }
    return assertTableName(name);
  };
  return {
    jobs,
    failed: assertTableName(names.failedTable),
    state: helper("state"),
    pauses: helper("pauses"),
    workers: helper("workers"),
    metrics: helper("metrics"),
    durations: helper("durations"),
    schema: helper("schema"),
  };
}

/** The current schema version; `createSchema` records it in the schema table. */
export const SCHEMA_VERSION = 1;

/** Reads a numeric column (drivers return numbers, bigints or decimal strings). */
export function num(value: unknown): number {
  return value === null || value === undefined ? 0 : Number(value);
}

/** Default table names, as in the seed's Laravel-style schema. */
export const DEFAULT_TABLES: { table: string; failedTable: string } = {
  table: "jobs",
  failedTable: "failed_jobs",
};
