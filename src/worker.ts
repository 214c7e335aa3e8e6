/**
 * The Worker: takes jobs from its queues (highest priority first), runs each
 * with a timeout, deletes it on success, releases it with backoff on failure,
 * fails it after the last attempt, and checks its limits between jobs. It
 * reads top to bottom as the job lifecycle.
 *
 * @module
 */

import type { Driver, ReservedJob } from "./drivers/driver.ts";
import { JobTimeoutError, QueueError, UnrecoverableError } from "./errors.ts";
import type { JobInterface } from "./job.ts";
import { abortableDelay, runWithTimeout } from "./timing.ts";
import { failureOf, type Manager, type Reservation } from "./manager.ts";
import { type JobSettings, resolveJobSettings, retryDelay } from "./job_settings.ts";
import {
  type LimitState,
  residentMb,
  stopBroadcastSince,
  trippedLimit,
  type WorkerExitReason,
} from "./worker_limits.ts";

export type { WorkerExitReason } from "./worker_limits.ts";

/**
 * The seed's WorkerOptions, durations in milliseconds. Unset values come from
 * the config's `queue.worker` block; tries, timeout and backoff from the job,
 * then these options, then the queue's config.
 */
export interface WorkerOptions {
  /** Longest idle wait before looking again (seed `Sleep`). */
  sleep?: number;
  /** Jobs before the worker stops; 0: no limit (seed `MaxJobs`). */
  maxJobs?: number;
  /** Milliseconds before the worker stops; 0: no limit (seed `MaxTime`). */
  maxTime?: number;
  /** Milliseconds to rest after each job (seed `Rest`). */
  rest?: number;
  /** RSS in MB above which the worker stops, to be restarted (seed `Memory`); 0: none. */
  memory?: number;
  /** Attempts before a job fails for good (seed `Tries`). */
  tries?: number;
  /** Milliseconds one attempt may run (seed `Timeout`); 0: no limit. */
  timeout?: number;
  /** Milliseconds before each retry; the last repeats. */
  backoff?: number[];
  /** Jobs run at once by this worker (default 1). */
  concurrency?: number;
  /** Milliseconds between heartbeats (default 5000; 0: none). */
  heartbeatMs?: number;
  /** Milliseconds between checks for a broadcast stop (default 1000). */
  stopCheckMs?: number;
  /** Receives one event per job step, for logging. */
  onEvent?: (event: WorkerEvent) => void;
}

/** One step of a job's life, or a store error in the loop. */
export interface WorkerEvent {
  /** What happened. `invalid`: the payload could not be decoded or its type is unknown. */
  type: "started" | "done" | "retrying" | "failed" | "invalid" | "error";
  /** The job id ("" for loop errors). */
  jobId: string;
  /** The queue. */
  queue: string;
  /** The job's type name, "raw" for raw payloads, "" when unknown. */
  jobType: string;
  /** The attempt number. */
  attempt: number;
  /** For `started`: the attempt's timeout in ms (0: none), so a supervisor can enforce it. */
  timeoutMs?: number;
  /** How long the attempt ran. */
  durationMs?: number;
  /** For `retrying`: the delay before the next attempt. */
  retryInMs?: number;
  /** For failures: the error. */
  error?: Error;
  /**
   * For an attempt that timed out: resolves when its handler has really
   * returned. Until then it still runs (it may ignore its signal), and the
   * queue service kills the process once timeout plus grace have passed.
   */
  settled?: Promise<void>;
}

/** How a worker's run ended. */
export interface WorkerExit {
  /** Why the loop ended. */
  reason: WorkerExitReason;
  /** Jobs that succeeded. */
  processed: number;
  /** Attempts that failed (retried or not). */
  failed: number;
}

/**
 * A worker over one or more queues.
 *
 * @example
 * ```ts
 * import { Manager, Worker } from "../mod.ts";
 * const manager = new Manager({ driver: "memory" });
 * const worker = new Worker(manager, ["default", "high"], { sleep: 3000, maxJobs: 100, memory: 256, tries: 3, timeout: 60_000 });
 * const done = worker.start();
 * await worker.stop();
 * console.log((await done).reason); // "stopped"
 * await manager.close();
 * ```
 */
export class Worker {
  /** This worker's id in heartbeats: host:pid:random. */
  readonly id: string;
  #manager: Manager;
  #queues: string[];
  #options: WorkerOptions;
  #inFlight = new Set<Promise<void>>();
  /** Acks (delete, release, fail) still on their way to the store; they overlap the next reserve. */
  #acks = new Set<Promise<void>>();
  #current = new Set<string>();
  #processed = 0;
  #failed = 0;
  #stop = new AbortController();
  #stopReason: WorkerExitReason | undefined;
  #running: Promise<WorkerExit> | undefined;
  #limits: LimitState;

  /** Creates a worker; `queues` are served highest configured priority first. */
  constructor(manager: Manager, queues: readonly string[], options: WorkerOptions = {}) {
    this.#manager = manager;
    this.#queues = [...queues];
    this.#options = options;
    const defaults = manager.config.worker;
    this.#limits = {
      handled: 0,
      startedAt: Date.now(),
      maxJobs: options.maxJobs ?? defaults.maxJobs,
      maxTimeMs: options.maxTime ?? defaults.maxTimeMs,
      memoryMb: options.memory ?? defaults.memoryMb,
    };
    this.id = `${hostname()}:${Deno.pid}:${crypto.randomUUID().slice(0, 8)}`;
  }

  /** Runs until stopped or a limit trips; resolves with why. */
  start(): Promise<WorkerExit> {
    this.#running ??= this.#loop();
    return this.#running;
  }

  /** Stops taking jobs, lets the jobs in flight finish, and resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.#requestStop("stopped");
    await this.#running;
  }

  #requestStop(reason: WorkerExitReason): void {
    this.#stopReason ??= reason;
    this.#stop.abort();
  }

  async #loop(): Promise<WorkerExit> {
    const driver = await this.#manager.connect();
    this.#limits.startedAt = Date.now();
    const startedAtStore = await driver.now();
    const timers = this.#startTimers(driver, startedAtStore);
    const claims = this.#manager.claims(this.#queues);
    const concurrency = Math.max(
      1,
      this.#options.concurrency ?? this.#manager.config.worker.concurrency,
    );
    const sleepMs = this.#options.sleep ?? this.#manager.config.worker.sleepMs;
    try {
      while (!this.#stop.signal.aborted) {
        const limit = trippedLimit(this.#limits);
        if (limit) {
          if (limit === "memory" && this.#limits.handled === 0) this.#warnMemoryTooLow();
          this.#requestStop(limit);
          break;
        }
        if (this.#acks.size >= ACKS_PER_SLOT * concurrency) {
          await Promise.race(this.#acks); // a slow store: do not pile up acks
          continue;
        }
        const count = Math.min(concurrency - this.#inFlight.size, this.#jobsLeft());
        if (count <= 0) {
          await Promise.race(this.#inFlight);
          continue;
        }
        const reservations = await this.#reserve(claims, count, this.#idleWait(sleepMs));
        for (const reservation of reservations) this.#track(this.#run(driver, reservation));
      }
    } finally {
      await Promise.allSettled(this.#inFlight);
      await Promise.allSettled(this.#acks);
      clearInterval(timers.heartbeat);
      clearInterval(timers.stopCheck);
      await driver.removeWorker(this.id).catch(() => {});
    }
    return {
      reason: this.#stopReason ?? "stopped",
      processed: this.#processed,
      failed: this.#failed,
    };
  }

  #jobsLeft(): number {
    const { maxJobs, handled } = this.#limits;
    return maxJobs > 0 ? maxJobs - handled - this.#inFlight.size : Infinity;
  }

  /** The idle wait, cut short so that max_time is noticed on time. */
  #idleWait(sleepMs: number): number {
    const { maxTimeMs, startedAt } = this.#limits;
    if (maxTimeMs <= 0) return sleepMs;
    return Math.max(0, Math.min(sleepMs, startedAt + maxTimeMs - Date.now()));
  }

  async #reserve(
    claims: ReturnType<Manager["claims"]>,
    count: number,
    sleepMs: number,
  ): Promise<Reservation[]> {
    try {
      return await this.#manager.reserve(claims, {
        count,
        waitMs: sleepMs,
        signal: this.#stop.signal,
      });
    } catch (error) {
      // The store is unreachable: say so, wait, and try again; nothing is lost.
      this.#emit({
        type: "error",
        jobId: "",
        queue: "",
        jobType: "",
        attempt: 0,
        error: error as Error,
      });
      await abortableDelay(Math.min(sleepMs, 1000), this.#stop.signal);
      return [];
    }
  }

  #track(run: Promise<void>): void {
    const tracked: Promise<void> = run.finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
  }

  #trackAck(ack: Promise<void>): void {
    const tracked: Promise<void> = ack.finally(() => this.#acks.delete(tracked));
    this.#acks.add(tracked);
  }

  async #run(driver: Driver, reservation: Reservation): Promise<void> {
    const { reserved, job, payload } = reservation;
    if (!job) {
      await this.#failInvalid(driver, reservation);
      return;
    }
    const settings = resolveJobSettings(
      payload,
      this.#options,
      this.#manager.config.queues[reserved.queue],
      this.#manager.config.worker,
    );
    const base = {
      jobId: reserved.id,
      queue: reserved.queue,
      jobType: payload?.type ?? "raw",
      attempt: reserved.attempts,
    };
    if (reserved.attempts > settings.maxAttempts) {
      // The last allowed attempt never reported back (its worker died or was
      // killed, e.g. past its timeout): fail it rather than run it again
      // (Laravel's MaxAttemptsExceededException).
      this.#failed++;
      this.#limits.handled++;
      await this.#handleFailure(
        driver,
        reserved,
        job,
        settings,
        attemptsExceeded(settings),
        0,
        base,
      );
      return;
    }
    this.#current.add(reserved.id);
    this.#emit({ type: "started", ...base, timeoutMs: settings.timeoutMs });
    const started = performance.now();
    // The slot is held while the handler runs; its ack travels while the next job is reserved.
    let ack: Promise<void>;
    try {
      await runWithTimeout(job, reserved, settings.timeoutMs);
      this.#processed++;
      ack = this.#acknowledge(driver, reserved, performance.now() - started, base);
    } catch (error) {
      this.#failed++;
      ack = this.#handleFailure(
        driver,
        reserved,
        job,
        settings,
        error as Error,
        performance.now() - started,
        { ...base, settled: error instanceof JobTimeoutError ? error.settled : undefined },
      );
    } finally {
      this.#current.delete(reserved.id);
      this.#limits.handled++;
    }
    this.#trackAck(ack);
    const rest = this.#options.rest ?? this.#manager.config.worker.restMs;
    if (rest > 0) await abortableDelay(rest, this.#stop.signal);
  }

  async #acknowledge(
    driver: Driver,
    reserved: ReservedJob,
    durationMs: number,
    base: Omit<WorkerEvent, "type">,
  ): Promise<void> {
    await this.#settle(driver.delete(reserved, { durationMs }), base);
    this.#emit({ type: "done", ...base, durationMs });
  }

  async #handleFailure(
    driver: Driver,
    reserved: ReservedJob,
    job: JobInterface,
    settings: JobSettings,
    error: Error,
    durationMs: number,
    base: Omit<WorkerEvent, "type">,
  ): Promise<void> {
    const final = error instanceof UnrecoverableError || reserved.attempts >= settings.maxAttempts;
    if (!final) {
      const retryInMs = retryDelay(settings, reserved.attempts);
      await this.#settle(driver.release(reserved, retryInMs, { durationMs }), base);
      this.#emit({ type: "retrying", ...base, durationMs, retryInMs, error });
      return;
    }
    await this.#settle(driver.fail(reserved, failureOf(error), { durationMs }), base);
    try {
      await job.failed?.(error);
    } catch (hookError) {
      this.#emit({ type: "error", ...base, error: hookError as Error });
    }
    this.#emit({ type: "failed", ...base, durationMs, error });
  }

  async #failInvalid(driver: Driver, reservation: Reservation): Promise<void> {
    const { reserved, error } = reservation;
    const base = {
      jobId: reserved.id,
      queue: reserved.queue,
      jobType: "",
      attempt: reserved.attempts,
    };
    this.#failed++;
    this.#limits.handled++;
    await this.#settle(driver.fail(reserved, failureOf(error!)), base);
    this.#emit({ type: "invalid", ...base, error });
  }

  /** Waits for an ack; a store error is reported, and the reservation will expire and retry. */
  async #settle(ack: Promise<boolean>, base: Omit<WorkerEvent, "type">): Promise<void> {
    try {
      if (!(await ack)) {
        const error = new Error(
          "The reservation expired before the job finished; another worker may run it again.",
        );
        this.#emit({ type: "error", ...base, error });
      }
    } catch (error) {
      this.#emit({ type: "error", ...base, error: error as Error });
    }
  }

  #startTimers(
    driver: Driver,
    startedAtStore: number,
  ): { heartbeat: Timer | undefined; stopCheck: Timer } {
    const beat = () =>
      driver.heartbeat({
        id: this.id,
        host: hostname(),
        pid: Deno.pid,
        queues: this.#manager.claims(this.#queues).map((claim) => claim.name),
        startedAt: this.#limits.startedAt,
        lastBeatAt: Date.now(),
        processed: this.#processed,
        failed: this.#failed,
        currentJob: this.#current.values().next().value ?? null,
      }).catch(() => {});
    const heartbeatMs = this.#options.heartbeatMs ?? 5000;
    if (heartbeatMs > 0) beat();
    const checkStop = async () => {
      try {
        if (stopBroadcastSince(await driver.lastStopAt(), startedAtStore)) {
          this.#requestStop("stop_broadcast");
        }
      } catch { /* the store is down: the loop reports it */ }
    };
    return {
      heartbeat: heartbeatMs > 0 ? setInterval(beat, heartbeatMs) : undefined,
      stopCheck: setInterval(checkStop, this.#options.stopCheckMs ?? 1000),
    };
  }

  #warnMemoryTooLow(): void {
    const error = new Error(
      `This process uses ${
        Math.round(residentMb())
      } MB before running any job, over the worker's memory limit of ${this.#limits.memoryMb} MB; raise queue.worker.memory (or WorkerOptions.memory; 0 turns the limit off).`,
    );
    this.#emit({ type: "error", jobId: "", queue: "", jobType: "", attempt: 0, error });
  }

  #emit(event: WorkerEvent): void {
    try {
      this.#options.onEvent?.(event);
    } catch { /* a logging failure must not stop the worker */ }
  }
}

type Timer = ReturnType<typeof setTimeout>;

/**
 * Acks that may be on their way per job slot. Bounding them at one per slot
 * throttled reserves as much as holding the slot did (26k jobs/s at 16 in
 * flight on Redis); four per slot gave 33k.
 */
const ACKS_PER_SLOT = 4;

function attemptsExceeded(settings: JobSettings): QueueError {
  return new QueueError(
    "JOB_ATTEMPTS_EXCEEDED",
    `The job has been attempted ${settings.maxAttempts} times (its limit) and its last attempt never finished (its worker died or was killed, e.g. past its timeout); it is not run again.`,
  );
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}
