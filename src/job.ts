/**
 * Jobs: {@link BaseJob} for classes with a `handle()` method, {@link RawJob} for
 * payloads pushed with `pushRaw`, and the {@link JobInterface} both implement
 * (the seed's Go interface, in TypeScript style; durations in milliseconds).
 *
 * @module
 */

import type { ReservedJob } from "./drivers/driver.ts";

/** What a job's `handle()` receives. */
export interface JobContext {
  /** Aborted when the job's timeout passes or the worker is forced to stop. */
  readonly signal: AbortSignal;
  /** The current attempt, starting at 1. */
  readonly attempt: number;
  /** The job's id. */
  readonly jobId: string;
  /** The queue the job was taken from. */
  readonly queue: string;
}

/** Per-job options; unset values fall back to the queue's configuration. */
export interface JobOptions {
  /** Queue to push to (default: the manager's default queue). */
  queue?: string;
  /** Attempts before the job fails for good (the seed's MaxAttempts / `tries`). */
  maxAttempts?: number;
  /** Milliseconds before the job becomes available. */
  delay?: number;
  /** Milliseconds one attempt may run before its signal aborts. */
  timeout?: number;
  /** Milliseconds to wait before a retry when no backoff is set. */
  retryAfter?: number;
  /** Milliseconds to wait before each retry, per attempt; the last value repeats. */
  backoff?: number[];
}

/** The seed's JobInterface: every job the worker runs implements it. */
export interface JobInterface {
  /** Runs the job. Throwing (or rejecting) fails the attempt. */
  handle(context: JobContext): void | Promise<void>;
  /** Called once when the job goes to the failed store (Laravel's `failed()`). */
  failed?(error: Error): void | Promise<void>;
  /** The queue name. */
  getQueue(): string;
  /** Attempts made so far (reservations). */
  getAttempts(): number;
  /** Attempts allowed; 0 when the queue's `tries` applies. */
  getMaxAttempts(): number;
  /** Delay before the first run, in milliseconds. */
  getDelay(): number;
  /** Timeout of one attempt in milliseconds; 0 when the queue's `timeout` applies. */
  getTimeout(): number;
  /** Delay before a retry without backoff, in milliseconds; 0 when unset. */
  getRetryAfter(): number;
  /** Delays before each retry, in milliseconds. */
  getBackoff(): number[];
  /** The stored payload (wire-format JSON, UTF-8). */
  getPayload(): Uint8Array;
  /** Replaces the stored payload. */
  setPayload(payload: Uint8Array): void;
  /** Sets the attempts counter. */
  setAttempts(attempts: number): void;
  /** The job id ("" before it is pushed). */
  getId(): string;
  /** Sets the job id. */
  setId(id: string): void;
  /** When the current reservation began, or null. */
  getReservedAt(): Date | null;
  /** Sets when the current reservation began. */
  setReservedAt(at: Date | null): void;
}

/** The part of a job that is not its data; kept under a symbol so JSON skips it. */
interface JobMeta extends JobOptions {
  id: string;
  attempts: number;
  reservedAt: Date | null;
  payload?: Uint8Array;
  /** The stored JSON text; encoded to `payload` only when asked for. */
  payloadText?: string;
  reservation?: ReservedJob;
}

const META: unique symbol = Symbol("@scaffold/queue.meta");

function meta(job: object): JobMeta {
  const holder = job as { [META]?: JobMeta };
  // Jobs rebuilt from JSON skip the constructor, so the meta is created lazily.
  return holder[META] ??= { id: "", attempts: 0, reservedAt: null };
}

/**
 * Base class of typed jobs. A subclass's own fields are its data: they are
 * serialised as JSON when pushed and restored before `handle()` runs, as the
 * seed's Go structs are.
 *
 * @example
 * ```ts
 * import { BaseJob, registerJob } from "../mod.ts";
 *
 * class ExampleJob extends BaseJob {
 *   message = "";
 *   handle(): void {
 *     console.log(`Processing message: ${this.message}`);
 *   }
 * }
 * registerJob(ExampleJob);
 * ```
 */
export abstract class BaseJob implements JobInterface {
  /** Sets the job's options (queue, maxAttempts, timeout, delay, retryAfter, backoff). */
  constructor(options: JobOptions = {}) {
    Object.assign(meta(this), options);
  }

  /** Runs the job. Throwing (or rejecting) fails the attempt. */
  abstract handle(context: JobContext): void | Promise<void>;

  /** Chooses the queue (Laravel's `onQueue`); returns the job for chaining. */
  onQueue(queue: string): this {
    meta(this).queue = queue;
    return this;
  }

  /** Sets the delay before the first run, in milliseconds; returns the job. */
  delay(ms: number): this {
    meta(this).delay = ms;
    return this;
  }

  /** The queue name ("" when the manager's default queue applies). */
  getQueue(): string {
    return meta(this).queue ?? "";
  }
  /** Attempts made so far. */
  getAttempts(): number {
    return meta(this).attempts;
  }
  /** Attempts allowed; 0 when the queue's `tries` applies. */
  getMaxAttempts(): number {
    return meta(this).maxAttempts ?? 0;
  }
  /** Delay before the first run, in milliseconds. */
  getDelay(): number {
    return meta(this).delay ?? 0;
  }
  /** Timeout of one attempt in milliseconds; 0 when the queue's applies. */
  getTimeout(): number {
    return meta(this).timeout ?? 0;
  }
  /** Delay before a retry without backoff, in milliseconds; 0 when unset. */
  getRetryAfter(): number {
    return meta(this).retryAfter ?? 0;
  }
  /** Delays before each retry, in milliseconds. */
  getBackoff(): number[] {
    return meta(this).backoff ?? [];
  }
  /** The stored payload bytes (empty before the job is pushed or popped). */
  getPayload(): Uint8Array {
    const m = meta(this);
    m.payload ??= new TextEncoder().encode(m.payloadText ?? "");
    return m.payload;
  }
  /** Replaces the stored payload bytes. */
  setPayload(payload: Uint8Array): void {
    meta(this).payload = payload;
  }
  /** Sets the attempts counter. */
  setAttempts(attempts: number): void {
    meta(this).attempts = attempts;
  }
  /** The job id ("" before it is pushed). */
  getId(): string {
    return meta(this).id;
  }
  /** Sets the job id. */
  setId(id: string): void {
    meta(this).id = id;
  }
  /** When the current reservation began, or null. */
  getReservedAt(): Date | null {
    return meta(this).reservedAt;
  }
  /** Sets when the current reservation began. */
  setReservedAt(at: Date | null): void {
    meta(this).reservedAt = at;
  }
}

/** Handles raw payloads of one queue (see `registerRawHandler`). */
export type RawHandler = (job: RawJob, context: JobContext) => void | Promise<void>;

/** A job pushed with `pushRaw`: its body is the raw text; a raw handler runs it. */
export class RawJob extends BaseJob {
  /** The raw payload as pushed (usually JSON text). */
  readonly body: string;
  #handler: RawHandler | undefined;

  /** Wraps a raw body; the handler is the one registered for its queue. */
  constructor(body: string, handler?: RawHandler, options: JobOptions = {}) {
    super(options);
    this.body = body;
    this.#handler = handler;
  }

  /** Parses the body as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.body) as T;
  }

  /** Runs the raw handler registered for this job's queue. */
  async handle(context: JobContext): Promise<void> {
    if (!this.#handler) {
      throw new Error(`No raw handler is registered for queue "${this.getQueue()}".`);
    }
    await this.#handler(this, context);
  }
}

/** The options a job carries, for the manager's serialiser. */
export function jobOptions(job: JobInterface): JobOptions {
  const own = (job as { [META]?: JobMeta })[META];
  return own ?? {};
}

/** Attaches the store's reservation to a popped job (used by the manager). */
export function attachReservation(job: JobInterface, reservation: ReservedJob): void {
  const m = meta(job);
  m.reservation = reservation;
  m.id = reservation.id;
  m.attempts = reservation.attempts;
  m.reservedAt = new Date(reservation.reservedAt);
}

/** The reservation a popped job holds, or undefined for a job never popped. */
export function reservationOf(job: JobInterface): ReservedJob | undefined {
  return (job as { [META]?: JobMeta })[META]?.reservation;
}

/**
 * Records the stored JSON text of a pushed or popped job (used by the
 * manager). A BaseJob encodes it only if `getPayload()` is called.
 */
export function setStoredPayload(job: JobInterface, text: string): void {
  if (job instanceof BaseJob) {
    const m = meta(job);
    m.payloadText = text;
    m.payload = undefined;
  } else {
    job.setPayload(new TextEncoder().encode(text));
  }
}

/** Restores meta options on a job rebuilt from its payload (used by the registry). */
export function restoreOptions(job: JobInterface, options: JobOptions): void {
  Object.assign(meta(job), options);
}
