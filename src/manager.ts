/**
 * The Manager: the seed's queue API. Push jobs (typed, raw, delayed, in bulk),
 * pop and acknowledge them, inspect and clear queues, work the failed store,
 * and broadcast stop, pause and resume to every worker on the backend.
 *
 * @module
 */

import { fromSeedConfig, type SeedManagerConfig } from "./config.ts";
import type { QueueConfig } from "./config_types.ts";
import type {
  Driver,
  FailedJob,
  NewJob,
  QueueClaim,
  QueueMetrics,
  QueueStats,
  ReservedJob,
  WorkerBeat,
} from "./drivers/driver.ts";
import { createDriver } from "./drivers/factory.ts";
import { assertQueueName, QueueError } from "./errors.ts";
import {
  attachReservation,
  type JobInterface,
  jobOptions,
  reservationOf,
  setStoredPayload,
} from "./job.ts";
import { defaultRegistry, type JobRegistry } from "./job_registry.ts";
import { decodePayload, encodePayload, type WirePayload } from "./wire.ts";

/** Options of {@link Manager.pushRaw}; durations in ms. Seed snake_case keys work too. */
export interface PushRawOptions {
  /** Milliseconds before the job becomes available. */
  delay?: number;
  /** Attempts before the job fails for good. */
  maxAttempts?: number;
  /** Milliseconds one attempt may run. */
  timeout?: number;
  /** Milliseconds before a retry when no backoff applies. */
  retryAfter?: number;
  /** Milliseconds before each retry. */
  backoff?: number[];
  /** The seed's spelling of `maxAttempts`. */
  max_attempts?: number;
  /** The seed's spelling of `retryAfter`. */
  retry_after?: number;
}

/** Extra options of the Manager. */
export interface ManagerOptions {
  /** Use this driver instead of building one from the config (e.g. a MemoryDriver in tests). */
  driver?: Driver;
  /** The job registry (default: the global one `registerJob` fills). */
  registry?: JobRegistry;
}

/** A reserved job, decoded when possible; `error` says why it could not be. */
export interface Reservation {
  /** The store's record of the reservation. */
  reserved: ReservedJob;
  /** The decoded payload, when valid. */
  payload?: WirePayload;
  /** The rebuilt job, when its payload is valid and its type known. */
  job?: JobInterface;
  /** Why the job could not be rebuilt (malformed payload, unknown type). */
  error?: Error;
}

/**
 * The queue manager.
 *
 * @example
 * ```ts
 * import { BaseJob, Manager } from "../mod.ts";
 *
 * class ExampleJob extends BaseJob {
 *   message = "";
 *   handle(): void {
 *     console.log(`Processing message: ${this.message}`);
 *   }
 * }
 *
 * const manager = new Manager({ driver: "memory" });
 * const job = Object.assign(new ExampleJob({ queue: "default", maxAttempts: 3, timeout: 60_000 }), {
 *   message: "Hello, Queue!",
 * });
 * await manager.push(job);
 * console.log(await manager.size("default")); // 1
 * await manager.close();
 * ```
 */
export class Manager {
  /** The resolved configuration. */
  readonly config: QueueConfig;
  /** The job registry used to rebuild popped jobs. */
  readonly registry: JobRegistry;
  #driver: Driver | undefined;
  #connecting: Promise<Driver> | undefined;

  /** Accepts a resolved config (from `loadConfig`) or the seed's `{ driver, options }` shape. */
  constructor(config: QueueConfig | SeedManagerConfig, options: ManagerOptions = {}) {
    this.config = "source" in config ? config : fromSeedConfig(config);
    this.registry = options.registry ?? defaultRegistry;
    this.#driver = options.driver;
  }

  /** The driver, once connected. Throws before `connect()` has finished. */
  get driver(): Driver {
    if (!this.#driver) {
      throw new QueueError("NOT_CONNECTED", "Call `await manager.connect()` first.");
    }
    return this.#driver;
  }

  /** Connects to the store (every other method does so on first use). Throws ConnectionError. */
  async connect(): Promise<Driver> {
    this.#connecting ??= (async () => {
      const driver = this.#driver ?? await createDriver(this.config);
      try {
        await driver.connect();
      } catch (error) {
        this.#connecting = undefined;
        throw error;
      }
      this.#driver = driver;
      return driver;
    })();
    return await this.#connecting;
  }

  /** Pushes a job; returns its id. */
  push(job: JobInterface): Promise<string> {
    return this.later(job, job.getDelay());
  }

  /** Pushes a job to become available after `delayMs`; returns its id. */
  async later(job: JobInterface, delayMs: number): Promise<string> {
    const [entry] = this.#prepare([job]);
    const driver = await this.connect();
    await driver.push({ ...entry, delayMs: checkDelay(delayMs) });
    return entry.id;
  }

  /**
   * Encodes a job as the store keeps it, without pushing it: for a driver's
   * own enqueue paths such as `MysqlDriver.pushWithin` (a job committed in
   * your transaction).
   */
  encode(job: JobInterface, delayMs: number = job.getDelay()): NewJob {
    const [entry] = this.#prepare([job]);
    return { ...entry, delayMs: checkDelay(delayMs) };
  }

  /** Pushes many jobs in as few round trips as the store allows; returns their ids. */
  async pushBulk(jobs: readonly JobInterface[]): Promise<string[]> {
    const entries = this.#prepare(jobs).map((entry, i) => ({
      ...entry,
      delayMs: checkDelay(jobs[i].getDelay()),
    }));
    const driver = await this.connect();
    await driver.pushBulk(entries);
    return entries.map((entry) => entry.id);
  }

  #prepare(jobs: readonly JobInterface[]): { id: string; queue: string; payload: string }[] {
    return jobs.map((job) => {
      const queue = assertQueueName(job.getQueue() || this.config.defaultQueue);
      const options = jobOptions(job);
      const id = job.getId() || crypto.randomUUID();
      const payload = encodePayload({
        v: 1,
        id,
        queue,
        type: this.registry.typeOf(job),
        data: { ...job },
        maxAttempts: options.maxAttempts ?? null,
        timeoutMs: options.timeout ?? null,
        retryAfterMs: options.retryAfter ?? null,
        backoffMs: options.backoff ?? null,
        createdAt: Date.now(),
      }, this.config.maxPayloadBytes);
      job.setId(id);
      setStoredPayload(job, payload);
      return { id, queue, payload };
    });
  }

  /**
   * Pushes a raw payload (text, bytes or a JSON-able value) to a queue; a raw
   * handler for that queue, or a `handlers:` command or URL, runs it.
   */
  async pushRaw(
    queue: string,
    payload: string | Uint8Array | unknown,
    options: PushRawOptions = {},
  ): Promise<string> {
    assertQueueName(queue);
    const id = crypto.randomUUID();
    const text = encodePayload({
      v: 1,
      id,
      queue,
      raw: rawText(payload),
      maxAttempts: options.maxAttempts ?? options.max_attempts ?? null,
      timeoutMs: options.timeout ?? null,
      retryAfterMs: options.retryAfter ?? options.retry_after ?? null,
      backoffMs: options.backoff ?? null,
      createdAt: Date.now(),
    }, this.config.maxPayloadBytes);
    const driver = await this.connect();
    await driver.push({ id, queue, payload: text, delayMs: checkDelay(options.delay ?? 0) });
    return id;
  }

  /** Claims for `queues`: highest configured priority first, ties in the given order. */
  claims(queues: readonly string[]): QueueClaim[] {
    const priority = (name: string) => this.config.queues[name]?.priority ?? 0;
    return queues
      .map((name, index) => ({ name: assertQueueName(name), index }))
      .sort((a, b) => priority(b.name) - priority(a.name) || a.index - b.index)
      .map(({ name }) => ({
        name,
        retryAfterMs: this.config.queues[name]?.retryAfterMs ?? 90_000,
      }));
  }

  /**
   * Reserves up to `count` jobs and rebuilds them. Jobs that cannot be rebuilt
   * are returned with `error` set; the caller must fail them (the Worker and
   * `pop` do).
   */
  async reserve(
    claims: readonly QueueClaim[],
    options: { count?: number; waitMs?: number; signal?: AbortSignal } = {},
  ): Promise<Reservation[]> {
    const driver = await this.connect();
    const reserved = await driver.reserve({ queues: claims, ...options });
    return reserved.map((record) => this.#rebuild(record));
  }

  #rebuild(reserved: ReservedJob): Reservation {
    try {
      const payload = decodePayload(reserved.payload, reserved, this.config.maxPayloadBytes);
      const job = this.registry.build(payload);
      attachReservation(job, reserved);
      setStoredPayload(job, reserved.payload);
      return { reserved, payload, job };
    } catch (error) {
      return { reserved, error: error as Error };
    }
  }

  /**
   * Takes the next job from a queue (or the first non-empty of several, by
   * priority) and returns it reserved, or null. The caller runs `handle()` and
   * then calls `delete` or `release`. Undecodable jobs go to the failed store.
   */
  async pop(queue: string | readonly string[]): Promise<JobInterface | null> {
    const claims = this.claims(typeof queue === "string" ? [queue] : queue);
    while (true) {
      const [next] = await this.reserve(claims);
      if (!next) return null;
      if (next.job) return next.job;
      await this.driver.fail(next.reserved, failureOf(next.error!));
    }
  }

  /** Jobs in a queue: ready + delayed + reserved. */
  async size(queue: string): Promise<number> {
    return await (await this.connect()).size(assertQueueName(queue));
  }

  /** The breakdown of a queue: ready, delayed, reserved, failed, paused. */
  async stats(queue: string): Promise<QueueStats> {
    return await (await this.connect()).stats(assertQueueName(queue));
  }

  /** Configured queues and those the store holds jobs for, sorted. */
  async queues(): Promise<string[]> {
    const stored = await (await this.connect()).queues();
    return [...new Set([...Object.keys(this.config.queues), ...stored])].sort();
  }

  /** Removes every ready, delayed and reserved job of a queue; returns how many. */
  async clear(queue: string): Promise<number> {
    return await (await this.connect()).clear(assertQueueName(queue));
  }

  /** Deletes a popped job for good (after it succeeded). */
  async delete(queue: string, job: JobInterface): Promise<boolean> {
    return await (await this.connect()).delete(this.#reservation(queue, job));
  }

  /** Puts a popped job back on its queue after `delayMs`. */
  async release(queue: string, job: JobInterface, delayMs: number): Promise<boolean> {
    return await (await this.connect()).release(this.#reservation(queue, job), checkDelay(delayMs));
  }

  /** Moves a popped job to the failed store with the error. */
  async fail(queue: string, job: JobInterface, error: Error): Promise<boolean> {
    return await (await this.connect()).fail(this.#reservation(queue, job), failureOf(error));
  }

  #reservation(queue: string, job: JobInterface): ReservedJob {
    const reservation = reservationOf(job);
    if (!reservation) {
      throw new QueueError(
        "NOT_RESERVED",
        `Job ${job.getId() || "(unsaved)"} was not popped, so it holds no reservation.`,
      );
    }
    if (reservation.queue !== queue) {
      throw new QueueError(
        "WRONG_QUEUE",
        `Job ${reservation.id} belongs to queue "${reservation.queue}", not "${queue}".`,
      );
    }
    return reservation;
  }

  /** Failed jobs, newest first. */
  async failedJobs(
    options: { queue?: string; limit?: number; offset?: number } = {},
  ): Promise<FailedJob[]> {
    return await (await this.connect()).failedList(options);
  }

  /** Puts one failed job (by id), or all of them, back on their queues; returns how many. */
  async retryFailed(id: string | "all"): Promise<number> {
    const driver = await this.connect();
    if (id !== "all") return (await driver.failedRetry(id)) ? 1 : 0;
    let count = 0;
    while (true) {
      const batch = await driver.failedList({ limit: 500 });
      if (batch.length === 0) return count;
      for (const failed of batch) count += Number(await driver.failedRetry(failed.id));
    }
  }

  /** Deletes a failed job; false when there is none with that id. */
  async forgetFailed(id: string): Promise<boolean> {
    return await (await this.connect()).failedForget(id);
  }

  /** Deletes every failed job (of one queue, or all); returns how many. */
  async flushFailed(queue?: string): Promise<number> {
    return await (await this.connect()).failedFlush(queue);
  }

  /** Tells every worker and queue service on this backend to finish its jobs and exit. */
  async broadcastStop(): Promise<number> {
    return await (await this.connect()).broadcastStop();
  }

  /** When stop was last broadcast, or null. */
  async lastStopAt(): Promise<number | null> {
    return await (await this.connect()).lastStopAt();
  }

  /** Stops workers taking jobs from a queue; pushes still succeed. */
  async pause(queue: string): Promise<void> {
    await (await this.connect()).pause(assertQueueName(queue));
  }

  /** Undoes `pause`. */
  async resume(queue: string): Promise<void> {
    await (await this.connect()).resume(assertQueueName(queue));
  }

  /** Workers whose last heartbeat is newer than `aliveWithinMs` (default 30 s). */
  async workers(aliveWithinMs = 30_000): Promise<WorkerBeat[]> {
    return await (await this.connect()).workers(aliveWithinMs);
  }

  /** Monitoring figures of a queue (per-minute counts, duration percentiles). */
  async metrics(queue: string): Promise<QueueMetrics> {
    return await (await this.connect()).metrics(assertQueueName(queue));
  }

  /** Closes the store's connections. */
  async close(): Promise<void> {
    const driver = this.#driver;
    this.#connecting = undefined;
    if (driver) await driver.close();
  }
}

function checkDelay(delayMs: number): number {
  if (!Number.isFinite(delayMs) || delayMs < 0) {
    throw new QueueError(
      "DELAY_INVALID",
      `A delay must be a non-negative number of milliseconds (got ${delayMs}).`,
    );
  }
  return delayMs;
}

function rawText(payload: unknown): string {
  if (typeof payload === "string") return payload;
  if (payload instanceof Uint8Array) {
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(payload);
    } catch {
      throw new QueueError(
        "PAYLOAD_INVALID",
        "A raw payload must be UTF-8 text; encode binary data (e.g. base64) first.",
      );
    }
  }
  return JSON.stringify(payload);
}

/** The failed store's record of an error. */
export function failureOf(error: Error): { error: string; stack?: string } {
  return { error: `${error.name}: ${error.message}`, stack: error.stack };
}

/** Creates a manager and connects it, so an unreachable store fails here. */
export async function createManager(
  config: QueueConfig | SeedManagerConfig,
  options: ManagerOptions = {},
): Promise<Manager> {
  const manager = new Manager(config, options);
  await manager.connect();
  return manager;
}
