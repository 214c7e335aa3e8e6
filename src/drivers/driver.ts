/**
 * The Driver contract: what every backend (memory, sqlite, mysql, redis)
 * guarantees. `tests/drivers/contract.ts` enforces it against each driver.
 *
 * Delivery is at-least-once. A job leaves the store only when it is deleted
 * after success or moved to the failed store. A reservation that is neither
 * deleted, released nor failed before `reservedUntil` expires, and the job is
 * given to another worker. Times are milliseconds since the Unix epoch, read
 * from the store's own clock where it has one (Redis TIME, SQL NOW()).
 *
 * @module
 */

/** A job to store. `payload` is the wire-format JSON text (see `wire.ts`). */
export interface NewJob {
  /** Unique job id. */
  id: string;
  /** Queue name (already validated). */
  queue: string;
  /** Wire-format JSON text. */
  payload: string;
  /** Milliseconds from the store's now until the job is available; 0 or absent: now. */
  delayMs?: number;
}

/** A job the store handed to a worker. */
export interface ReservedJob {
  /** Job id. */
  id: string;
  /** Queue the job was reserved from. */
  queue: string;
  /** Wire-format JSON text, exactly as stored. */
  payload: string;
  /** Reservations so far, including this one (1 on the first run). */
  attempts: number;
  /** When this reservation began (store clock). */
  reservedAt: number;
  /** When this reservation expires and the job becomes available again. */
  reservedUntil: number;
  /** Identifies this reservation; delete/release/fail with a stale token do nothing. */
  token: string;
}

/** One queue a worker takes from, with how long a reservation lasts there. */
export interface QueueClaim {
  /** Queue name. */
  name: string;
  /** Milliseconds a reservation lasts (the queue's `retry_after`). */
  retryAfterMs: number;
}

/** What `reserve` is asked for. */
export interface ReserveRequest {
  /** Queues in priority order, highest first. Paused queues are skipped. */
  queues: readonly QueueClaim[];
  /** Most jobs to take at once (default 1); fewer are returned when fewer are ready. */
  count?: number;
  /**
   * Longest time to wait for a job when none is ready (default 0: do not wait).
   * A driver that can be told about new jobs (Redis blocking pop, SQLite file
   * events, in-process pushes) returns as soon as one arrives.
   */
  waitMs?: number;
  /** Aborting it makes a waiting `reserve` return `[]` promptly. */
  signal?: AbortSignal;
}

/** Counts of one queue. `size` = ready + delayed + reserved, as in Laravel. */
export interface QueueStats {
  /** Queue name. */
  queue: string;
  /** Jobs available now. */
  ready: number;
  /** Jobs waiting for their delay (including releases with a delay). */
  delayed: number;
  /** Jobs held by a worker (including expired reservations not yet reclaimed). */
  reserved: number;
  /** Jobs of this queue in the failed store. */
  failed: number;
  /** Whether workers are told to skip the queue. */
  paused: boolean;
  /** When the oldest ready job became available, or null when none is ready. */
  oldestReadyAt: number | null;
}

/** Why a job failed, as kept in the failed store. */
export interface Failure {
  /** The error message. */
  error: string;
  /** The stack trace, when there is one. */
  stack?: string;
}

/** An entry of the failed store. */
export interface FailedJob {
  /** The job id (also the failed store's key). */
  id: string;
  /** The queue the job belonged to. */
  queue: string;
  /** The wire-format JSON text, as it was stored. */
  payload: string;
  /** The error message. */
  error: string;
  /** The stack trace, or "". */
  stack: string;
  /** Attempts made. */
  attempts: number;
  /** When the job failed (store clock). */
  failedAt: number;
}

/** What a worker process reports about itself every few seconds. */
export interface WorkerBeat {
  /** Unique worker id (host:pid:random). */
  id: string;
  /** Host name. */
  host: string;
  /** Process id. */
  pid: number;
  /** Queues served, in priority order. */
  queues: string[];
  /** When the worker started. */
  startedAt: number;
  /** When this beat was sent (store clock is applied by the driver). */
  lastBeatAt: number;
  /** Jobs finished successfully. */
  processed: number;
  /** Attempts that failed. */
  failed: number;
  /** Id of the job running now, if any. */
  currentJob: string | null;
}

/** Figures the store keeps per queue for monitoring. */
export interface QueueMetrics {
  /** Queue name. */
  queue: string;
  /** Per-minute counts, oldest first, for the last 60 minutes (minute = epoch ms of its start). */
  minutes: { minute: number; processed: number; failed: number }[];
  /** Jobs done successfully since the store began counting (never decreases). */
  processedTotal: number;
  /** Jobs moved to the failed store since the store began counting. */
  failedTotal: number;
  /** Median job duration in ms over the recent window, or null without samples. */
  durationP50: number | null;
  /** 95th percentile job duration in ms over the recent window, or null. */
  durationP95: number | null;
}

/** How an attempt ended, for the figures the store keeps. */
export interface Outcome {
  /** How long the handler ran, in milliseconds. */
  durationMs: number;
}

/** The contract every backend implements. */
export interface Driver {
  /** The driver's name as in config: "memory", "sqlite", "database", "redis". */
  readonly name: string;
  /** Where it connects, without secrets (e.g. "redis 127.0.0.1:6379/0"). */
  readonly target: string;

  /** Opens connections and creates the schema if needed; idempotent. Throws ConnectionError. */
  connect(): Promise<void>;
  /** Closes connections; waiting `reserve` calls return `[]`. */
  close(): Promise<void>;
  /** The store's clock, milliseconds since the epoch. */
  now(): Promise<number>;

  /** Stores one job. */
  push(job: NewJob): Promise<void>;
  /** Stores many jobs in as few round trips as the store allows. */
  pushBulk(jobs: readonly NewJob[]): Promise<void>;
  /**
   * Atomically takes up to `count` of the oldest available jobs, from the
   * highest-priority non-empty, non-paused queue first; marks each reserved
   * until now + that queue's retryAfterMs and counts the attempt. Due delayed
   * jobs and expired reservations become available first.
   */
  reserve(request: ReserveRequest): Promise<ReservedJob[]>;
  /** Removes a reserved job for good (ack). False when the reservation was lost. */
  delete(job: ReservedJob, outcome?: Outcome): Promise<boolean>;
  /** Puts a reserved job back, available at now + delayMs. False when the reservation was lost. */
  release(job: ReservedJob, delayMs: number, outcome?: Outcome): Promise<boolean>;
  /** Moves a reserved job to the failed store. False when the reservation was lost. */
  fail(job: ReservedJob, failure: Failure, outcome?: Outcome): Promise<boolean>;

  /** ready + delayed + reserved jobs of a queue. */
  size(queue: string): Promise<number>;
  /** The breakdown of a queue's jobs. */
  stats(queue: string): Promise<QueueStats>;
  /** Names of the queues that hold jobs, failed jobs or a pause flag, sorted. */
  queues(): Promise<string[]>;
  /** Removes ready, delayed and reserved jobs of a queue; returns how many. */
  clear(queue: string): Promise<number>;

  /** Failed jobs, newest first. */
  failedList(options?: { queue?: string; limit?: number; offset?: number }): Promise<FailedJob[]>;
  /** Number of failed jobs, of one queue or all. */
  failedCount(queue?: string): Promise<number>;
  /** Puts a failed job back on its queue with attempts reset. False when unknown. */
  failedRetry(id: string): Promise<boolean>;
  /** Deletes a failed job. False when unknown. */
  failedForget(id: string): Promise<boolean>;
  /** Deletes all failed jobs (of one queue or all); returns how many. */
  failedFlush(queue?: string): Promise<number>;

  /** Records a stop request (store clock); workers started before it stop. */
  broadcastStop(): Promise<number>;
  /** The time of the last stop request, or null. */
  lastStopAt(): Promise<number | null>;

  /** Workers stop taking jobs from the queue; pushes still succeed. */
  pause(queue: string): Promise<void>;
  /** Undoes `pause`. */
  resume(queue: string): Promise<void>;
  /** Names of the paused queues. */
  pausedQueues(): Promise<string[]>;

  /** Records a worker's heartbeat (lastBeatAt is set from the store clock). */
  heartbeat(beat: WorkerBeat): Promise<void>;
  /** Removes a worker's entry (on clean exit). */
  removeWorker(id: string): Promise<void>;
  /** Workers whose last beat is newer than `aliveWithinMs`; older entries are pruned. */
  workers(aliveWithinMs: number): Promise<WorkerBeat[]>;
  /** The monitoring figures of a queue. */
  metrics(queue: string): Promise<QueueMetrics>;
}
