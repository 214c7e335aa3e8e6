/**
 * The job-type registry: maps the stable type name stored in a payload back to
 * the class that handles it, and raw queues to their handlers, so a worker can
 * rebuild a job from its stored JSON.
 *
 * @module
 */

import {
  type JobInterface,
  type JobOptions,
  type RawHandler,
  RawJob,
  restoreOptions,
} from "./job.ts";
import { PayloadError, UnknownJobTypeError } from "./errors.ts";
import type { WirePayload } from "./wire.ts";

/** A job class: any class whose instances implement {@link JobInterface}. */
// deno-lint-ignore no-explicit-any
export type JobClass = (abstract new (...args: any[]) => JobInterface) & { jobType?: string };

/** Type names to classes, and raw queues to handlers. */
export class JobRegistry {
  #classes = new Map<string, JobClass>();
  #names = new Map<JobClass, string>();
  #rawHandlers = new Map<string, RawHandler>();

  /**
   * Registers a job class under `name` (default: its static `jobType`, else
   * its class name). Registering the same class twice is harmless; another
   * class under a taken name is an error.
   */
  register(jobClass: JobClass, name: string = typeNameOf(jobClass)): void {
    const existing = this.#classes.get(name);
    if (existing && existing !== jobClass) {
      throw new Error(`Job type "${name}" is already registered to another class.`);
    }
    this.#classes.set(name, jobClass);
    this.#names.set(jobClass, name);
  }

  /** Registers the handler for raw payloads pushed to `queue` ("*" for any queue). */
  registerRawHandler(queue: string, handler: RawHandler): void {
    this.#rawHandlers.set(queue, handler);
  }

  /** Whether raw payloads of `queue` have a handler. */
  hasRawHandler(queue: string): boolean {
    return this.#rawHandlers.has(queue) || this.#rawHandlers.has("*");
  }

  /** The type name a job is stored under; registers its class on first use. */
  typeOf(job: JobInterface): string {
    const jobClass = job.constructor as JobClass;
    const registered = this.#names.get(jobClass);
    if (registered) return registered;
    const name = typeNameOf(jobClass);
    this.register(jobClass, name);
    return name;
  }

  /**
   * Rebuilds a job from a decoded payload. Throws {@link UnknownJobTypeError}
   * for an unregistered type or a raw queue without handler.
   */
  build(payload: WirePayload): JobInterface {
    const options: JobOptions = {
      queue: payload.queue,
      maxAttempts: payload.maxAttempts ?? undefined,
      timeout: payload.timeoutMs ?? undefined,
      retryAfter: payload.retryAfterMs ?? undefined,
      backoff: payload.backoffMs ?? undefined,
    };
    if (payload.raw !== undefined) {
      const handler = this.#rawHandlers.get(payload.queue) ?? this.#rawHandlers.get("*");
      if (!handler) throw new UnknownJobTypeError(`raw payload on queue "${payload.queue}"`);
      return new RawJob(payload.raw, handler, options);
    }
    const jobClass = this.#classes.get(payload.type!);
    if (!jobClass) throw new UnknownJobTypeError(payload.type!);
    // Like Go's json.Unmarshal into a zero struct: no constructor runs.
    const job = Object.create(jobClass.prototype) as JobInterface;
    for (const [key, value] of Object.entries(payload.data ?? {})) {
      if (key === "__proto__") {
        throw new PayloadError('The payload contains the forbidden key "__proto__".');
      }
      Object.defineProperty(job, key, {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    }
    restoreOptions(job, options);
    return job;
  }
}

function typeNameOf(jobClass: JobClass): string {
  const name = Object.hasOwn(jobClass, "jobType") ? jobClass.jobType : jobClass.name;
  if (!name) {
    throw new Error("A job class needs a name: declare it with a name or a static jobType.");
  }
  return name;
}

/** The registry used when a Manager or Worker is not given one. */
export const defaultRegistry: JobRegistry = new JobRegistry();

/**
 * Registers a job class in the default registry, so workers can rebuild it.
 *
 * @example
 * ```ts
 * import { BaseJob, registerJob } from "../mod.ts";
 * class SendWelcomeEmailJob extends BaseJob {
 *   email = "";
 *   handle(): void {}
 * }
 * registerJob(SendWelcomeEmailJob);
 * ```
 */
export function registerJob(jobClass: JobClass, name?: string): void {
  defaultRegistry.register(jobClass, name);
}

/**
 * Registers, in the default registry, the handler for raw payloads of a queue.
 *
 * @example
 * ```ts
 * import { registerRawHandler } from "../mod.ts";
 * registerRawHandler("emails", (job) => {
 *   const { to } = job.json<{ to: string }>();
 *   console.log(`sending to ${to}`);
 * });
 * ```
 */
export function registerRawHandler(queue: string, handler: RawHandler): void {
  defaultRegistry.registerRawHandler(queue, handler);
}
