/**
 * The SQL drivers' monitoring: per-minute processed/failed counts and a ring
 * of recent durations, written inside each ack's transaction at a constant
 * cost; heartbeats of live workers; and the figures read back from both.
 *
 * @module
 */

import type { Outcome, QueueMetrics, WorkerBeat } from "../driver.ts";
import { DURATION_SAMPLES, fillMinutes, percentile, windowStart } from "../metrics_window.ts";
import { type Dialect, num, type SqlConn, type SqlRow, type SqlTables } from "./dialect.ts";

/** Counter rows per (queue, minute), so concurrent acks rarely update the same row. */
const METRIC_SHARDS = 8;
const HOUR_MS = 3_600_000;

/** Monitoring for one SQL store. */
export class SqlMonitoring {
  #dialect: Dialect;
  #tables: SqlTables;
  #slot = Math.floor(Math.random() * DURATION_SAMPLES);
  #prunedMinute = 0;

  /** Monitoring over a dialect's tables. */
  constructor(dialect: Dialect, tables: SqlTables) {
    this.#dialect = dialect;
    this.#tables = tables;
  }

  /** Counts an outcome: per-minute and total rows (sharded to avoid a hot row) and a duration sample. */
  async count(
    conn: SqlConn,
    queue: string,
    kind?: "processed" | "failed",
    outcome?: Outcome,
  ): Promise<void> {
    const { metrics, durations } = this.#tables;
    const { now, div, onConflict, excluded } = this.#dialect.sql;
    if (kind) {
      const shard = Math.floor(Math.random() * METRIC_SHARDS);
      const [p, f] = kind === "processed" ? [1, 0] : [0, 1];
      await conn.run(
        `INSERT INTO ${metrics} (queue, minute, shard, processed, failed)
         VALUES (?, ${div(now, "60000")} * 60000, ?, ?, ?), (?, 0, ?, ?, ?)
         ${onConflict(["queue", "minute", "shard"])} processed = processed + ${
          excluded("processed")
        },
         failed = failed + ${excluded("failed")}`,
        [queue, shard, p, f, queue, shard, p, f],
      );
      this.#prune();
    }
    if (outcome) {
      const slot = this.#slot++ % DURATION_SAMPLES;
      await conn.run(
        `INSERT INTO ${durations} (queue, slot, ms, at) VALUES (?, ?, ?, ${now})
         ${onConflict(["queue", "slot"])} ms = ${excluded("ms")}, at = ${excluded("at")}`,
        [queue, slot, Math.max(0, Math.round(outcome.durationMs))],
      );
    }
  }

  /**
   * Once a minute per process, drops metric rows older than the window. Runs
   * outside the caller's transaction (and is not awaited) so that an ack never
   * waits on, or deadlocks with, the cleanup.
   */
  #prune(): void {
    const minute = Math.floor(Date.now() / 60_000);
    if (minute === this.#prunedMinute) return;
    this.#prunedMinute = minute;
    const { now } = this.#dialect.sql;
    const { metrics, durations } = this.#tables;
    this.#dialect.run(
      `DELETE FROM ${metrics} WHERE minute > 0 AND minute < ${now} - ${HOUR_MS + 60_000}`,
    )
      .then(() => this.#dialect.run(`DELETE FROM ${durations} WHERE at < ${now} - ${HOUR_MS}`))
      .catch(() => {}); // the next minute tries again
  }

  /** Records a worker's heartbeat at the store's time. */
  async heartbeat(db: Dialect, beat: WorkerBeat): Promise<void> {
    const { now, onConflict, excluded } = this.#dialect.sql;
    const columns = [
      "host",
      "pid",
      "queues",
      "started_at",
      "last_beat_at",
      "processed",
      "failed",
      "current_job",
    ];
    await db.run(
      `INSERT INTO ${this.#tables.workers} (id, ${columns.join(", ")})
       VALUES (?, ?, ?, ?, ?, ${now}, ?, ?, ?)
       ${onConflict(["id"])} ${columns.map((c) => `${c} = ${excluded(c)}`).join(", ")}`,
      [
        beat.id,
        beat.host,
        beat.pid,
        JSON.stringify(beat.queues),
        beat.startedAt,
        beat.processed,
        beat.failed,
        beat.currentJob,
      ],
    );
  }

  /** Removes a worker's entry. */
  async removeWorker(db: Dialect, id: string): Promise<void> {
    await db.run(`DELETE FROM ${this.#tables.workers} WHERE id = ?`, [id]);
  }

  /** Live workers; entries silent for longer than `aliveWithinMs` are pruned. */
  async workers(db: Dialect, aliveWithinMs: number): Promise<WorkerBeat[]> {
    await db.run(
      `DELETE FROM ${this.#tables.workers} WHERE last_beat_at < ${this.#dialect.sql.now} - ?`,
      [
        Math.max(0, Math.round(aliveWithinMs)),
      ],
    );
    const rows = await db.query(`SELECT * FROM ${this.#tables.workers} ORDER BY id`);
    return rows.map(toBeat);
  }

  /** The monitoring figures of a queue over the last hour. */
  async metrics(db: Dialect, queue: string, now: number): Promise<QueueMetrics> {
    const first = windowStart(now);
    const rows = await db.query(
      `SELECT minute, SUM(processed) AS processed, SUM(failed) AS failed FROM ${this.#tables.metrics}
       WHERE queue = ? AND (minute = 0 OR minute >= ?) GROUP BY minute`,
      [queue, first],
    );
    const counts = new Map<number, { processed: number; failed: number }>();
    let totals = { processed: 0, failed: 0 };
    for (const row of rows) {
      const count = { processed: num(row.processed), failed: num(row.failed) };
      if (num(row.minute) === 0) totals = count;
      else counts.set(num(row.minute), count);
    }
    const samples = await db.query(
      `SELECT ms FROM ${this.#tables.durations} WHERE queue = ? AND at >= ?`,
      [queue, now - HOUR_MS],
    );
    const durations = samples.map((row) => num(row.ms));
    return {
      queue,
      minutes: fillMinutes(now, counts),
      processedTotal: totals.processed,
      failedTotal: totals.failed,
      durationP50: percentile(durations, 50),
      durationP95: percentile(durations, 95),
    };
  }
}

function toBeat(row: SqlRow): WorkerBeat {
  return {
    id: String(row.id),
    host: String(row.host),
    pid: num(row.pid),
    queues: JSON.parse(String(row.queues)),
    startedAt: num(row.started_at),
    lastBeatAt: num(row.last_beat_at),
    processed: num(row.processed),
    failed: num(row.failed),
    currentJob: row.current_job === null || row.current_job === undefined
      ? null
      : String(row.current_job),
  };
}
