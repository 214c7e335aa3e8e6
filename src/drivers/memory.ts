/**
 * The memory driver: the whole contract in one process's memory. Meant for
 * users' unit tests and demos; nothing survives the process.
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
import {
  DURATION_SAMPLES,
  fillMinutes,
  minuteOf,
  newToken,
  percentile,
  windowStart,
} from "./metrics_window.ts";
import { Wakeup } from "./wakeup.ts";

interface Entry {
  id: string;
  queue: string;
  payload: string;
  attempts: number;
  availableAt: number;
  seq: number;
  reservation: { token: string; at: number; until: number } | null;
}

interface Tally {
  minutes: Map<number, { processed: number; failed: number }>;
  processedTotal: number;
  failedTotal: number;
  durations: number[];
}

/** Options of the memory driver. */
export interface MemoryDriverOptions {
  /** The clock, for tests that move time (default `Date.now`). */
  clock?: () => number;
}

/** A driver that keeps everything in this process's memory. */
export class MemoryDriver implements Driver {
  /** Always "memory". */
  readonly name = "memory";
  /** Always "memory (this process)". */
  readonly target = "memory (this process)";
  #clock: () => number;
  #seq = 0;
  #queues = new Map<string, Map<string, Entry>>();
  #failed = new Map<string, FailedJob>();
  #paused = new Set<string>();
  #workers = new Map<string, WorkerBeat>();
  #tallies = new Map<string, Tally>();
  #lastStop: number | null = null;
  #wakeup = new Wakeup();
  #closed = false;

  /** Creates an empty store. */
  constructor(options: MemoryDriverOptions = {}) {
    this.#clock = options.clock ?? Date.now;
  }

  /** Nothing to connect to. */
  connect(): Promise<void> {
    this.#closed = false;
    return Promise.resolve();
  }

  /** Wakes waiting reserves; the data stays until the object is dropped. */
  close(): Promise<void> {
    this.#closed = true;
    this.#wakeup.notify();
    return Promise.resolve();
  }

  /** The driver's clock. */
  now(): Promise<number> {
    return Promise.resolve(this.#clock());
  }

  /** Stores one job. */
  push(job: NewJob): Promise<void> {
    this.#store(job);
    this.#wakeup.notify();
    return Promise.resolve();
  }

  /** Stores many jobs. */
  pushBulk(jobs: readonly NewJob[]): Promise<void> {
    for (const job of jobs) this.#store(job);
    this.#wakeup.notify();
    return Promise.resolve();
  }

  #store(job: NewJob, attempts = 0): void {
    const entry: Entry = {
      id: job.id,
      queue: job.queue,
      payload: job.payload,
      attempts,
      availableAt: this.#clock() + Math.max(0, job.delayMs ?? 0),
      seq: this.#seq++,
      reservation: null,
    };
    this.#queue(job.queue).set(job.id, entry);
  }

  #queue(name: string): Map<string, Entry> {
    let queue = this.#queues.get(name);
    if (!queue) this.#queues.set(name, queue = new Map());
    return queue;
  }

  /** Takes the oldest available jobs of the highest-priority queue first. */
  async reserve(request: ReserveRequest): Promise<ReservedJob[]> {
    const deadline = this.#clock() + (request.waitMs ?? 0);
    while (true) {
      const jobs = this.#take(request);
      if (jobs.length > 0 || this.#closed || request.signal?.aborted) return jobs;
      const left = deadline - this.#clock();
      if (left <= 0) return [];
      await this.#wakeup.wait(Math.min(left, this.#nextDueIn(request) ?? left), request.signal);
    }
  }

  #take(request: ReserveRequest): ReservedJob[] {
    const now = this.#clock();
    const wanted = Math.max(1, request.count ?? 1);
    const taken: ReservedJob[] = [];
    for (const claim of request.queues) {
      if (this.#paused.has(claim.name)) continue;
      const due = [...(this.#queues.get(claim.name)?.values() ?? [])]
        .filter((entry) => availableSince(entry) <= now)
        .sort((a, b) => availableSince(a) - availableSince(b) || a.seq - b.seq);
      for (const entry of due.slice(0, wanted - taken.length)) {
        entry.attempts++;
        entry.reservation = { token: newToken(), at: now, until: now + claim.retryAfterMs };
        taken.push(toReserved(entry));
      }
      if (taken.length >= wanted) break;
    }
    return taken;
  }

  #nextDueIn(request: ReserveRequest): number | undefined {
    let next: number | undefined;
    for (const claim of request.queues) {
      for (const entry of this.#queues.get(claim.name)?.values() ?? []) {
        const at = availableSince(entry);
        if (next === undefined || at < next) next = at;
      }
    }
    return next === undefined ? undefined : Math.max(1, next - this.#clock());
  }

  #held(job: ReservedJob): Entry | undefined {
    const entry = this.#queues.get(job.queue)?.get(job.id);
    return entry?.reservation?.token === job.token ? entry : undefined;
  }

  /** Removes a reserved job for good. */
  delete(job: ReservedJob, outcome?: Outcome): Promise<boolean> {
    const entry = this.#held(job);
    if (!entry) return Promise.resolve(false);
    this.#queue(job.queue).delete(job.id);
    this.#count(job.queue, "processed", outcome);
    return Promise.resolve(true);
  }

  /** Puts a reserved job back after `delayMs`. */
  release(job: ReservedJob, delayMs: number, outcome?: Outcome): Promise<boolean> {
    const entry = this.#held(job);
    if (!entry) return Promise.resolve(false);
    entry.reservation = null;
    entry.availableAt = this.#clock() + Math.max(0, delayMs);
    entry.seq = this.#seq++;
    this.#count(job.queue, undefined, outcome);
    this.#wakeup.notify();
    return Promise.resolve(true);
  }

  /** Moves a reserved job to the failed store. */
  fail(job: ReservedJob, failure: Failure, outcome?: Outcome): Promise<boolean> {
    const entry = this.#held(job);
    if (!entry) return Promise.resolve(false);
    this.#queue(job.queue).delete(job.id);
    this.#failed.delete(job.id); // re-insert so the newest failure iterates last
    this.#failed.set(job.id, {
      id: job.id,
      queue: job.queue,
      payload: entry.payload,
      error: failure.error,
      stack: failure.stack ?? "",
      attempts: entry.attempts,
      failedAt: this.#clock(),
    });
    this.#count(job.queue, "failed", outcome);
    return Promise.resolve(true);
  }

  /** ready + delayed + reserved. */
  async size(queue: string): Promise<number> {
    const stats = await this.stats(queue);
    return stats.ready + stats.delayed + stats.reserved;
  }

  /** Counts of one queue. */
  stats(queue: string): Promise<QueueStats> {
    const now = this.#clock();
    const stats: QueueStats = {
      queue,
      ready: 0,
      delayed: 0,
      reserved: 0,
      failed: 0,
      paused: this.#paused.has(queue),
      oldestReadyAt: null,
    };
    for (const entry of this.#queues.get(queue)?.values() ?? []) {
      if (entry.reservation) stats.reserved++;
      else if (entry.availableAt > now) stats.delayed++;
      else {
        stats.ready++;
        stats.oldestReadyAt = Math.min(stats.oldestReadyAt ?? Infinity, entry.availableAt);
      }
    }
    for (const failed of this.#failed.values()) if (failed.queue === queue) stats.failed++;
    return Promise.resolve(stats);
  }

  /** Queues with jobs, failed jobs or a pause flag. */
  queues(): Promise<string[]> {
    const names = new Set<string>(this.#paused);
    for (const [name, jobs] of this.#queues) if (jobs.size > 0) names.add(name);
    for (const failed of this.#failed.values()) names.add(failed.queue);
    return Promise.resolve([...names].sort());
  }

  /** Empties a queue. */
  clear(queue: string): Promise<number> {
    const count = this.#queues.get(queue)?.size ?? 0;
    this.#queues.delete(queue);
    return Promise.resolve(count);
  }

  /** Failed jobs, newest first. */
  failedList(
    options: { queue?: string; limit?: number; offset?: number } = {},
  ): Promise<FailedJob[]> {
    const all = [...this.#failed.values()].reverse()
      .filter((job) => options.queue === undefined || job.queue === options.queue);
    const offset = options.offset ?? 0;
    return Promise.resolve(all.slice(offset, offset + (options.limit ?? all.length)));
  }

  /** Number of failed jobs. */
  async failedCount(queue?: string): Promise<number> {
    return (await this.failedList({ queue })).length;
  }

  /** Puts a failed job back on its queue. */
  failedRetry(id: string): Promise<boolean> {
    const failed = this.#failed.get(id);
    if (!failed) return Promise.resolve(false);
    this.#failed.delete(id);
    this.#store({ id, queue: failed.queue, payload: failed.payload });
    this.#wakeup.notify();
    return Promise.resolve(true);
  }

  /** Deletes a failed job. */
  failedForget(id: string): Promise<boolean> {
    return Promise.resolve(this.#failed.delete(id));
  }

  /** Deletes failed jobs. */
  failedFlush(queue?: string): Promise<number> {
    let count = 0;
    for (const [id, job] of this.#failed) {
      if (queue === undefined || job.queue === queue) count += Number(this.#failed.delete(id));
    }
    return Promise.resolve(count);
  }

  /** Records a stop request. */
  broadcastStop(): Promise<number> {
    this.#lastStop = this.#clock();
    return Promise.resolve(this.#lastStop);
  }

  /** The last stop request. */
  lastStopAt(): Promise<number | null> {
    return Promise.resolve(this.#lastStop);
  }

  /** Pauses a queue. */
  pause(queue: string): Promise<void> {
    this.#paused.add(queue);
    return Promise.resolve();
  }

  /** Resumes a queue. */
  resume(queue: string): Promise<void> {
    this.#paused.delete(queue);
    this.#wakeup.notify();
    return Promise.resolve();
  }

  /** Paused queues. */
  pausedQueues(): Promise<string[]> {
    return Promise.resolve([...this.#paused].sort());
  }

  /** Records a heartbeat. */
  heartbeat(beat: WorkerBeat): Promise<void> {
    this.#workers.set(beat.id, { ...beat, lastBeatAt: this.#clock() });
    return Promise.resolve();
  }

  /** Removes a worker entry. */
  removeWorker(id: string): Promise<void> {
    this.#workers.delete(id);
    return Promise.resolve();
  }

  /** Live workers; stale entries are pruned. */
  workers(aliveWithinMs: number): Promise<WorkerBeat[]> {
    const oldest = this.#clock() - aliveWithinMs;
    for (const [id, beat] of this.#workers) if (beat.lastBeatAt < oldest) this.#workers.delete(id);
    return Promise.resolve([...this.#workers.values()]);
  }

  /** Monitoring figures of a queue. */
  metrics(queue: string): Promise<QueueMetrics> {
    const tally = this.#tally(queue);
    return Promise.resolve({
      queue,
      minutes: fillMinutes(this.#clock(), tally.minutes),
      processedTotal: tally.processedTotal,
      failedTotal: tally.failedTotal,
      durationP50: percentile(tally.durations, 50),
      durationP95: percentile(tally.durations, 95),
    });
  }

  #tally(queue: string): Tally {
    let tally = this.#tallies.get(queue);
    if (!tally) {
      tally = { minutes: new Map(), processedTotal: 0, failedTotal: 0, durations: [] };
      this.#tallies.set(queue, tally);
    }
    return tally;
  }

  #count(queue: string, kind: "processed" | "failed" | undefined, outcome?: Outcome): void {
    const tally = this.#tally(queue);
    if (kind) {
      const now = this.#clock();
      const minute = minuteOf(now);
      const bucket = tally.minutes.get(minute) ?? { processed: 0, failed: 0 };
      bucket[kind]++;
      tally.minutes.set(minute, bucket);
      if (kind === "processed") tally.processedTotal++;
      else tally.failedTotal++;
      for (const old of tally.minutes.keys()) if (old < windowStart(now)) tally.minutes.delete(old);
    }
    if (outcome) {
      tally.durations.push(outcome.durationMs);
      if (tally.durations.length > DURATION_SAMPLES) tally.durations.shift();
    }
  }
}

function availableSince(entry: Entry): number {
  return entry.reservation ? entry.reservation.until : entry.availableAt;
}

function toReserved(entry: Entry): ReservedJob {
  const reservation = entry.reservation!;
  return {
    id: entry.id,
    queue: entry.queue,
    payload: entry.payload,
    attempts: entry.attempts,
    reservedAt: reservation.at,
    reservedUntil: reservation.until,
    token: reservation.token,
  };
}
