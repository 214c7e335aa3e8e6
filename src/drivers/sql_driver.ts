/**
 * The database driver, written once over a {@link Dialect}: SQLite and MySQL
 * differ only in the SQL fragments and connection handling their dialects
 * supply. One row per job in the jobs table; `available_at` is when the job may
 * next be taken: its due time while waiting, its reservation's expiry while
 * reserved (so one index serves both "due" and "expired"), and `token` marks a
 * reservation. A reservation is addressed by `seq` (the primary key), which
 * the token carries, so the hot path needs no index on the job id.
 *
 * @module
 */

import type {
  Driver,
  FailedJob,
  Failure,
  NewJob,
  Outcome,
  QueueMetrics,
  QueueStats,
  ReservedJob,
  ReserveRequest,
  WorkerBeat,
} from "./driver.ts";
import { newToken } from "./metrics_window.ts";
import {
  type Dialect,
  num,
  type SqlConn,
  type SqlRow,
  type SqlTables,
  type SqlValue,
} from "./sql/dialect.ts";
import { SqlMonitoring } from "./sql/monitoring.ts";

export { num } from "./sql/dialect.ts";

const INSERT_CHUNK_ROWS = 500;
const INSERT_CHUNK_BYTES = 4 * 1024 * 1024;

/** The Driver contract implemented once in SQL; a dialect supplies the differences. */
export class SqlDriver implements Driver {
  /** The driver name as in config. */
  readonly name: string;
  /** Where it connects, without secrets. */
  readonly target: string;
  /** The dialect this driver runs on. */
  protected readonly dialect: Dialect;
  /** The validated table names. */
  protected readonly tables: SqlTables;
  #ready: Promise<void> | null = null;
  #closed = false;
  #monitoring: SqlMonitoring;

  /** Creates the driver; nothing is opened until `connect()` or first use. */
  constructor(dialect: Dialect, tables: SqlTables) {
    this.dialect = dialect;
    this.tables = tables;
    this.name = dialect.driverName;
    this.target = dialect.target;
    this.#monitoring = new SqlMonitoring(dialect, tables);
  }

  /** Opens the store and creates the schema when missing; idempotent. */
  connect(): Promise<void> {
    this.#closed = false;
    this.#ready ??= (async () => {
      await this.dialect.open();
      await this.dialect.createSchema(this.tables);
    })().catch((error) => {
      this.#ready = null;
      throw error;
    });
    return this.#ready;
  }

  /** Creates (or upgrades) the tables and indexes; safe to run at any time. */
  async migrate(): Promise<void> {
    await this.connect();
    await this.dialect.createSchema(this.tables);
  }

  /** Closes the store; waiting reserves return `[]`. */
  async close(): Promise<void> {
    this.#closed = true;
    this.dialect.notifyWork();
    const ready = this.#ready;
    this.#ready = null;
    if (ready) await ready.catch(() => {});
    await this.dialect.close();
  }

  /** Runs a statement set on an open store. */
  protected async db(): Promise<Dialect> {
    if (!this.#ready) await this.connect();
    else await this.#ready;
    return this.dialect;
  }

  /** The store's clock. */
  async now(): Promise<number> {
    const [row] = await (await this.db()).query(`SELECT ${this.dialect.sql.now} AS now`);
    return num(row.now);
  }

  /** Stores one job. */
  async push(job: NewJob): Promise<void> {
    await this.insertJobs(await this.db(), [job]);
    this.dialect.notifyWork();
  }

  /** Stores many jobs in one transaction, in multi-row INSERTs. */
  async pushBulk(jobs: readonly NewJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const db = await this.db();
    if (jobs.length <= INSERT_CHUNK_ROWS) await this.insertJobs(db, jobs);
    else await db.transaction((conn) => this.insertJobs(conn, jobs));
    this.dialect.notifyWork();
  }

  /** Inserts jobs on a given connection (the caller's transaction, for transactional enqueue). */
  protected async insertJobs(conn: SqlConn, jobs: readonly NewJob[]): Promise<void> {
    const now = this.dialect.sql.now;
    let start = 0;
    while (start < jobs.length) {
      let end = start, bytes = 0;
      while (end < jobs.length && end - start < INSERT_CHUNK_ROWS && bytes < INSERT_CHUNK_BYTES) {
        bytes += jobs[end++].payload.length;
      }
      const chunk = jobs.slice(start, end);
      const values = chunk.map(() => `(?, ?, ?, 0, ${now} + ?, ${now})`).join(", ");
      const params = chunk.flatMap((
        j,
      ) => [j.id, j.queue, j.payload, Math.max(0, Math.round(j.delayMs ?? 0))]);
      await conn.run(
        `INSERT INTO ${this.tables.jobs} (id, queue, payload, attempts, available_at, created_at) VALUES ${values}`,
        params,
      );
      start = end;
    }
  }

  /** Takes the oldest available jobs, highest-priority queue first; may wait for work. */
  async reserve(request: ReserveRequest): Promise<ReservedJob[]> {
    const db = await this.db();
    const deadline = Date.now() + (request.waitMs ?? 0);
    while (true) {
      if (this.#closed || request.signal?.aborted) return [];
      const jobs = await db.transaction((conn) => this.#claim(conn, request));
      if (jobs.length > 0) return jobs;
      const left = deadline - Date.now();
      if (left <= 0 || this.#closed || request.signal?.aborted) return [];
      const due = await this.#nextDueIn(request);
      await db.waitForWork(Math.min(left, due ?? left), request.signal);
    }
  }

  async #claim(conn: SqlConn, request: ReserveRequest): Promise<ReservedJob[]> {
    const { jobs, pauses } = this.tables;
    const { now, claimLock } = this.dialect.sql;
    const wanted = Math.max(1, request.count ?? 1);
    const taken: ReservedJob[] = [];
    for (const claim of request.queues) {
      const rows = await conn.query(
        `SELECT seq, id, payload, attempts, ${now} AS now FROM ${jobs}
         WHERE queue = ? AND available_at <= ${now}
           AND NOT EXISTS (SELECT 1 FROM ${pauses} WHERE queue = ?)
         ORDER BY available_at, seq LIMIT ?${claimLock}`,
        [claim.name, claim.name, wanted - taken.length],
      );
      if (rows.length === 0) continue;
      const at = num(rows[0].now);
      const until = at + claim.retryAfterMs;
      const token = newToken();
      await conn.run(
        `UPDATE ${jobs} SET attempts = attempts + 1, token = ?, reserved_at = ?, available_at = ?
         WHERE seq IN (${rows.map(() => "?").join(", ")})`,
        [token, at, until, ...rows.map((row) => num(row.seq))],
      );
      for (const row of rows) {
        taken.push({
          id: String(row.id),
          queue: claim.name,
          payload: String(row.payload),
          attempts: num(row.attempts) + 1,
          reservedAt: at,
          reservedUntil: until,
          token: `${num(row.seq)}.${token}`,
        });
      }
      if (taken.length >= wanted) break;
    }
    return taken;
  }

  /** Milliseconds until the next job of these queues becomes available, or undefined. */
  async #nextDueIn(request: ReserveRequest): Promise<number | undefined> {
    if (request.queues.length === 0) return undefined;
    const { jobs, pauses } = this.tables;
    const [row] = await this.dialect.query(
      `SELECT MIN(available_at) - ${this.dialect.sql.now} AS due FROM ${jobs}
       WHERE queue IN (${request.queues.map(() => "?").join(", ")})
         AND queue NOT IN (SELECT queue FROM ${pauses})`,
      request.queues.map((claim) => claim.name),
    );
    return row.due === null || row.due === undefined ? undefined : Math.max(1, num(row.due) + 1);
  }

  /** Removes a reserved job for good and counts it. */
  async delete(job: ReservedJob, outcome?: Outcome): Promise<boolean> {
    return await (await this.db()).transaction(async (conn) => {
      const changed = await conn.run(
        `DELETE FROM ${this.tables.jobs} WHERE seq = ? AND token = ?`,
        held(job),
      );
      if (changed === 0) return false;
      await this.#monitoring.count(conn, job.queue, "processed", outcome);
      return true;
    });
  }

  /** Puts a reserved job back, available at now + delayMs. */
  async release(job: ReservedJob, delayMs: number, outcome?: Outcome): Promise<boolean> {
    const released = await (await this.db()).transaction(async (conn) => {
      const changed = await conn.run(
        `UPDATE ${this.tables.jobs} SET token = NULL, reserved_at = NULL,
         available_at = ${this.dialect.sql.now} + ? WHERE seq = ? AND token = ?`,
        [Math.max(0, Math.round(delayMs)), ...held(job)],
      );
      if (changed === 0) return false;
      await this.#monitoring.count(conn, job.queue, undefined, outcome);
      return true;
    });
    if (released) this.dialect.notifyWork();
    return released;
  }

  /** Moves a reserved job to the failed store, with its error and stack. */
  async fail(job: ReservedJob, failure: Failure, outcome?: Outcome): Promise<boolean> {
    const { jobs, failed } = this.tables;
    return await (await this.db()).transaction(async (conn) => {
      const [row] = await conn.query(
        `SELECT seq, payload, attempts FROM ${jobs} WHERE seq = ? AND token = ?${this.dialect.sql.rowLock}`,
        held(job),
      );
      if (!row) return false;
      await conn.run(`DELETE FROM ${failed} WHERE id = ?`, [job.id]);
      await conn.run(
        `INSERT INTO ${failed} (id, queue, payload, error, stack, attempts, failed_at)
         VALUES (?, ?, ?, ?, ?, ?, ${this.dialect.sql.now})`,
        [
          job.id,
          job.queue,
          String(row.payload),
          failure.error,
          failure.stack ?? "",
          num(row.attempts),
        ],
      );
      await conn.run(`DELETE FROM ${jobs} WHERE seq = ?`, [num(row.seq)]);
      await this.#monitoring.count(conn, job.queue, "failed", outcome);
      return true;
    });
  }

  /** ready + delayed + reserved. */
  async size(queue: string): Promise<number> {
    const [row] = await (await this.db()).query(
      `SELECT COUNT(*) AS n FROM ${this.tables.jobs} WHERE queue = ?`,
      [queue],
    );
    return num(row.n);
  }

  /** The breakdown of a queue's jobs. */
  async stats(queue: string): Promise<QueueStats> {
    const db = await this.db();
    const { now } = this.dialect.sql;
    const [row] = await db.query(
      `SELECT
         SUM(CASE WHEN token IS NOT NULL THEN 1 ELSE 0 END) AS n_reserved,
         SUM(CASE WHEN token IS NULL AND available_at > ${now} THEN 1 ELSE 0 END) AS n_delayed,
         SUM(CASE WHEN token IS NULL AND available_at <= ${now} THEN 1 ELSE 0 END) AS n_ready,
         MIN(CASE WHEN token IS NULL AND available_at <= ${now} THEN available_at END) AS oldest
       FROM ${this.tables.jobs} WHERE queue = ?`,
      [queue],
    );
    const [failed] = await db.query(
      `SELECT COUNT(*) AS n FROM ${this.tables.failed} WHERE queue = ?`,
      [queue],
    );
    const [paused] = await db.query(
      `SELECT COUNT(*) AS n FROM ${this.tables.pauses} WHERE queue = ?`,
      [queue],
    );
    return {
      queue,
      ready: num(row.n_ready),
      delayed: num(row.n_delayed),
      reserved: num(row.n_reserved),
      failed: num(failed.n),
      paused: num(paused.n) > 0,
      oldestReadyAt: row.oldest === null || row.oldest === undefined ? null : num(row.oldest),
    };
  }

  /** Queues that hold jobs, failed jobs or a pause flag, sorted. */
  async queues(): Promise<string[]> {
    const { jobs, failed, pauses } = this.tables;
    const rows = await (await this.db()).query(
      `SELECT DISTINCT queue FROM ${jobs} UNION SELECT queue FROM ${failed} UNION SELECT queue FROM ${pauses}`,
    );
    return [...new Set(rows.map((row) => String(row.queue)))].sort();
  }

  /** Removes ready, delayed and reserved jobs of a queue. */
  async clear(queue: string): Promise<number> {
    return await (await this.db()).run(`DELETE FROM ${this.tables.jobs} WHERE queue = ?`, [queue]);
  }

  /** Failed jobs, newest first. */
  async failedList(
    options: { queue?: string; limit?: number; offset?: number } = {},
  ): Promise<FailedJob[]> {
    const where = options.queue === undefined ? "" : "WHERE queue = ?";
    const params: SqlValue[] = options.queue === undefined ? [] : [options.queue];
    params.push(Math.max(0, options.limit ?? 1_000_000_000), Math.max(0, options.offset ?? 0));
    const rows = await (await this.db()).query(
      `SELECT id, queue, payload, error, stack, attempts, failed_at FROM ${this.tables.failed} ${where}
       ORDER BY failed_at DESC, seq DESC LIMIT ? OFFSET ?`,
      params,
    );
    return rows.map(toFailed);
  }

  /** Number of failed jobs, of one queue or all. */
  async failedCount(queue?: string): Promise<number> {
    const where = queue === undefined ? "" : " WHERE queue = ?";
    const [row] = await (await this.db()).query(
      `SELECT COUNT(*) AS n FROM ${this.tables.failed}${where}`,
      queue === undefined ? [] : [queue],
    );
    return num(row.n);
  }

  /** Puts a failed job back on its queue with attempts reset. */
  async failedRetry(id: string): Promise<boolean> {
    const { failed } = this.tables;
    const retried = await (await this.db()).transaction(async (conn) => {
      const [row] = await conn.query(`SELECT queue, payload FROM ${failed} WHERE id = ?`, [id]);
      if (!row) return false;
      await this.insertJobs(conn, [{ id, queue: String(row.queue), payload: String(row.payload) }]);
      await conn.run(`DELETE FROM ${failed} WHERE id = ?`, [id]);
      return true;
    });
    if (retried) this.dialect.notifyWork();
    return retried;
  }

  /** Deletes a failed job. */
  async failedForget(id: string): Promise<boolean> {
    return (await (await this.db()).run(`DELETE FROM ${this.tables.failed} WHERE id = ?`, [id])) >
      0;
  }

  /** Deletes all failed jobs, of one queue or all. */
  async failedFlush(queue?: string): Promise<number> {
    const where = queue === undefined ? "" : " WHERE queue = ?";
    return await (await this.db()).run(
      `DELETE FROM ${this.tables.failed}${where}`,
      queue === undefined ? [] : [queue],
    );
  }

  /** Records a stop request at the store's time and returns that time. */
  async broadcastStop(): Promise<number> {
    const at = await this.now();
    await this.#setState("stop", at);
    return at;
  }

  /** The time of the last stop request, or null. */
  async lastStopAt(): Promise<number | null> {
    const [row] = await (await this.db()).query(
      `SELECT value FROM ${this.tables.state} WHERE name = ?`,
      ["stop"],
    );
    return row ? num(row.value) : null;
  }

  async #setState(name: string, value: number): Promise<void> {
    const { onConflict, excluded } = this.dialect.sql;
    await (await this.db()).run(
      `INSERT INTO ${this.tables.state} (name, value) VALUES (?, ?) ${
        onConflict(["name"])
      } value = ${excluded("value")}`,
      [name, value],
    );
  }

  /** Workers stop taking jobs from the queue. */
  async pause(queue: string): Promise<void> {
    const { now, onConflict, excluded } = this.dialect.sql;
    await (await this.db()).run(
      `INSERT INTO ${this.tables.pauses} (queue, paused_at) VALUES (?, ${now})
       ${onConflict(["queue"])} paused_at = ${excluded("paused_at")}`,
      [queue],
    );
  }

  /** Undoes `pause`. */
  async resume(queue: string): Promise<void> {
    await (await this.db()).run(`DELETE FROM ${this.tables.pauses} WHERE queue = ?`, [queue]);
    this.dialect.notifyWork();
  }

  /** Names of the paused queues. */
  async pausedQueues(): Promise<string[]> {
    const rows = await (await this.db()).query(`SELECT queue FROM ${this.tables.pauses}`);
    return rows.map((row) => String(row.queue)).sort();
  }

  /** Records a worker's heartbeat at the store's time. */
  async heartbeat(beat: WorkerBeat): Promise<void> {
    await this.#monitoring.heartbeat(await this.db(), beat);
  }

  /** Removes a worker's entry. */
  async removeWorker(id: string): Promise<void> {
    await this.#monitoring.removeWorker(await this.db(), id);
  }

  /** Live workers; entries silent for longer than `aliveWithinMs` are pruned. */
  async workers(aliveWithinMs: number): Promise<WorkerBeat[]> {
    return await this.#monitoring.workers(await this.db(), aliveWithinMs);
  }

  /** The monitoring figures of a queue over the last hour. */
  async metrics(queue: string): Promise<QueueMetrics> {
    return await this.#monitoring.metrics(await this.db(), queue, await this.now());
  }
}

/**
 * The row and reservation a token names: tokens are "<seq>.<claim token>", so
 * that ack, release and fail find the row by its primary key. A malformed
 * token matches nothing.
 */
function held(job: ReservedJob): [number, string] {
  const dot = job.token.indexOf(".");
  const seq = Number(job.token.slice(0, dot));
  return dot > 0 && Number.isSafeInteger(seq) ? [seq, job.token.slice(dot + 1)] : [-1, ""];
}

function toFailed(row: SqlRow): FailedJob {
  return {
    id: String(row.id),
    queue: String(row.queue),
    payload: String(row.payload),
    error: String(row.error),
    stack: String(row.stack ?? ""),
    attempts: num(row.attempts),
    failedAt: num(row.failed_at),
  };
}
