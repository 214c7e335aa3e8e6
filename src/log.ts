/**
 * Logging for the executables and the queue service: levels, one line per job
 * event, to stderr and optionally to a file (`log.file`, `log.format`).
 *
 * @module
 */

import { formatDuration } from "./duration.ts";

/** Log levels, most severe first. */
export type LogLevel = "error" | "warn" | "info" | "debug";

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** Options of a {@link Logger}. */
export interface LoggerOptions {
  /** Lines above this level are dropped (default "info"). */
  level?: LogLevel;
  /** Also show each job's "queued"/"started" lines (the `-v` flag). */
  verbose?: boolean;
  /** Append lines to this file as well. */
  file?: string;
  /** "text" (default) or "json", for both stderr and the file. */
  format?: "text" | "json";
  /** Name shown in each line, e.g. "worker" or "queue-cmd". */
  name?: string;
  /** Where lines go instead of stderr (for tests). */
  sink?: (line: string) => void;
}

/** Extra fields of a log line. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** A job event as the worker reports it (the shape of the worker's `WorkerEvent`). */
export interface JobLogEvent {
  /** What happened. */
  type: "queued" | "started" | "done" | "failed" | "retrying" | "invalid";
  /** Job id. */
  jobId: string;
  /** Queue name. */
  queue: string;
  /** Job type name (or "raw"). */
  jobType?: string;
  /** Attempt number, starting at 1. */
  attempt?: number;
  /** How long the attempt ran. */
  durationMs?: number;
  /** Delay before the retry. */
  retryInMs?: number;
  /** Error message, for failures. */
  error?: string;
}

const encoder = new TextEncoder();

/** Writes leveled log lines to stderr and, when configured, to a file. */
export class Logger {
  /** The most detailed level written. */
  readonly level: LogLevel;
  /** Whether job "queued"/"started" lines are written. */
  readonly verbose: boolean;
  #format: "text" | "json";
  #name: string;
  #file: Deno.FsFile | null = null;
  #sink: ((line: string) => void) | undefined;

  /** Creates a logger; opens `file` for appending (creating it) when given. */
  constructor(options: LoggerOptions = {}) {
    this.level = options.level ?? "info";
    this.verbose = options.verbose ?? this.level === "debug";
    this.#format = options.format ?? "text";
    this.#name = options.name ?? "queue";
    this.#sink = options.sink;
    if (options.file) {
      this.#file = Deno.openSync(options.file, { append: true, create: true, write: true });
    }
  }

  /** Whether lines of `level` are written. */
  enabled(level: LogLevel): boolean {
    return RANK[level] <= RANK[this.level];
  }

  /** Writes an error line. */
  error(message: string, fields?: LogFields): void {
    this.log("error", message, fields);
  }
  /** Writes a warning line. */
  warn(message: string, fields?: LogFields): void {
    this.log("warn", message, fields);
  }
  /** Writes an info line. */
  info(message: string, fields?: LogFields): void {
    this.log("info", message, fields);
  }
  /** Writes a debug line. */
  debug(message: string, fields?: LogFields): void {
    this.log("debug", message, fields);
  }

  /** Writes one line at `level`, when enabled. */
  log(level: LogLevel, message: string, fields: LogFields = {}): void {
    if (!this.enabled(level)) return;
    const line = this.#render(level, message, fields);
    if (this.#sink) this.#sink(line);
    else Deno.stderr.writeSync(encoder.encode(line + "\n"));
    this.#file?.writeSync(encoder.encode(line + "\n"));
  }

  /** Writes the one line of a job event (queued, started, done in N ms, failed, retrying in N s). */
  job(event: JobLogEvent): void {
    const { level, text } = describeJobEvent(event);
    if ((event.type === "queued" || event.type === "started") && !this.verbose) return;
    this.log(level, text, {
      job: event.jobId,
      queue: event.queue,
      type: event.jobType,
      attempt: event.attempt,
      ms: event.durationMs === undefined ? undefined : Math.round(event.durationMs),
    });
  }

  /** Closes the log file, if any. */
  close(): void {
    this.#file?.close();
    this.#file = null;
  }

  #render(level: LogLevel, message: string, fields: LogFields): string {
    const time = new Date().toISOString();
    if (this.#format === "json") {
      const clean = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
      return JSON.stringify({
        time,
        level,
        name: this.#name,
        pid: Deno.pid,
        msg: message,
        ...clean,
      });
    }
    return `${time} ${level.toUpperCase().padEnd(5)} [${this.#name}] ${message}`;
  }
}

/** The level and sentence of a job event, e.g. "job 42 (SendEmail) on default done in 12 ms". */
export function describeJobEvent(event: JobLogEvent): { level: LogLevel; text: string } {
  const who = `job ${event.jobId} (${event.jobType ?? "?"}) on ${event.queue}`;
  const attempt = event.attempt ? `, attempt ${event.attempt}` : "";
  switch (event.type) {
    case "queued":
      return { level: "info", text: `${who} queued` };
    case "started":
      return { level: "info", text: `${who} started${attempt}` };
    case "done":
      return { level: "info", text: `${who} done in ${formatDuration(event.durationMs ?? 0)}` };
    case "retrying":
      return {
        level: "warn",
        text: `${who} failed${attempt}: ${event.error ?? "error"}; retrying in ${
          formatDuration(event.retryInMs ?? 0)
        }`,
      };
    case "failed":
      return { level: "error", text: `${who} failed${attempt}: ${event.error ?? "error"}` };
    case "invalid":
      return { level: "error", text: `${who} is invalid: ${event.error ?? "bad payload"}` };
  }
}

/** Builds the logger the config and the `-v`/`-debug` flags ask for. */
export function loggerFromConfig(
  log: { level: LogLevel; file?: string; format: "text" | "json" },
  flags: { verbose?: boolean; debug?: boolean; name: string },
): Logger {
  const level: LogLevel = flags.debug ? "debug" : log.level;
  return new Logger({
    level: flags.verbose && level !== "debug" && RANK[level] < RANK.info ? "info" : level,
    verbose: Boolean(flags.verbose || flags.debug || log.level === "debug"),
    file: log.file,
    format: log.format,
    name: flags.name,
  });
}
