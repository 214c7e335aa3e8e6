/**
 * Typed errors. Every error the toolkit throws on purpose is a {@link QueueError}
 * with a stable `code` and a message that says what to do about it.
 *
 * @module
 */

/** Base class of every error the toolkit raises on purpose. */
export class QueueError extends Error {
  /** A stable, machine-readable code such as `CONFIG_INVALID`. */
  readonly code: string;

  /** Creates an error with a stable code and a human sentence. */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The configuration (file, key or value) is wrong. */
export class ConfigError extends QueueError {
  /** Creates a config error; the message names the file, key and problem. */
  constructor(message: string, options?: ErrorOptions) {
    super("CONFIG_INVALID", message, options);
  }
}

/** The backend (Redis, MySQL, SQLite file) cannot be reached. */
export class ConnectionError extends QueueError {
  /** Creates a connection error; the message names the driver and host:port. */
  constructor(message: string, options?: ErrorOptions) {
    super("CONNECTION_FAILED", message, options);
  }
}

/** A payload could not be decoded: malformed JSON, wrong shape, or too large. */
export class PayloadError extends QueueError {
  /** Creates a payload error with the reason the payload was refused. */
  constructor(message: string, options?: ErrorOptions) {
    super("PAYLOAD_INVALID", message, options);
  }
}

/** A stored job names a type that no registered job class or handler serves. */
export class UnknownJobTypeError extends QueueError {
  /** Creates the error for the unregistered type name. */
  constructor(type: string) {
    super(
      "JOB_TYPE_UNKNOWN",
      `No job class is registered for type "${type}"; import the module that calls registerJob() in the worker.`,
    );
  }
}

/** A job ran longer than its timeout and its signal was aborted. */
export class JobTimeoutError extends QueueError {
  /**
   * Resolves when the timed-out handler has really returned: a handler may
   * ignore its signal and keep running (the queue service then replaces its
   * process once timeout plus grace have passed).
   */
  settled: Promise<void> = Promise.resolve();

  /** Creates the error for a job that outlived `timeoutMs`. */
  constructor(timeoutMs: number) {
    super("JOB_TIMEOUT", `The job exceeded its timeout of ${timeoutMs} ms.`);
  }
}

/**
 * Thrown by a job's `handle()` to fail it at once, without further retries
 * (BullMQ's UnrecoverableError, Laravel's `$this->fail()`).
 */
export class UnrecoverableError extends QueueError {
  /** Creates an error that sends the job to the failed store immediately. */
  constructor(message: string, options?: ErrorOptions) {
    super("JOB_UNRECOVERABLE", message, options);
  }
}

/** A queue name that cannot be used as a key or table value. */
export class InvalidQueueNameError extends QueueError {
  /** Creates the error for the offending name. */
  constructor(name: string) {
    super(
      "QUEUE_NAME_INVALID",
      `Queue name ${
        JSON.stringify(name)
      } is invalid: use 1-64 characters of letters, digits, '_', '-', '.' and ':'.`,
    );
  }
}

const QUEUE_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Throws {@link InvalidQueueNameError} unless `name` is a valid queue name. */
export function assertQueueName(name: string): string {
  if (typeof name !== "string" || !QUEUE_NAME.test(name)) throw new InvalidQueueNameError(name);
  return name;
}
