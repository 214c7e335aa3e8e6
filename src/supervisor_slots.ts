/**
 * The queue service's worker slots: `processes` slots per configured queue,
 * each keeping one worker process alive, restarted when it exits, with a
 * back-off against crash loops.
 *
 * @module
 */

import type { QueueConfig } from "./config_types.ts";
import type { Logger } from "./log.ts";
import { type WorkerCommand, WorkerProcess, type WorkerProcessEnd } from "./worker_process.ts";

/** Exit reasons after which a worker is restarted at once: it ended on purpose. */
const PLANNED = new Set(["max_jobs", "max_time", "memory"]);

/** Decides how long to wait before restarting a worker process. */
export class RestartPolicy {
  /** A process that ran less than this is counted as a crash-loop crash. */
  readonly quickMs: number;
  /** First back-off delay. */
  readonly minMs: number;
  /** Longest back-off delay. */
  readonly maxMs: number;

  /** Creates a policy (defaults: quick 10 s, back-off 0.5 s doubling up to 30 s). */
  constructor(options: { quickMs?: number; minMs?: number; maxMs?: number } = {}) {
    this.quickMs = options.quickMs ?? 10_000;
    this.minMs = options.minMs ?? 500;
    this.maxMs = options.maxMs ?? 30_000;
  }

  /** The delay before the next start, given how the last run ended and the crashes in a row. */
  delay(end: WorkerProcessEnd, crashesInRow: number): number {
    if (end.code === 0 && end.reason !== null && PLANNED.has(end.reason)) return 0;
    if (crashesInRow <= 0) return this.minMs;
    return Math.min(this.maxMs, this.minMs * 2 ** crashesInRow);
  }

  /** Whether this end counts as a crash for the back-off. */
  isCrash(end: WorkerProcessEnd): boolean {
    const planned = end.code === 0 && end.reason !== null && PLANNED.has(end.reason);
    return !planned && end.uptimeMs < this.quickMs;
  }
}

/** What a {@link SlotSpawner} needs. */
export interface SlotSpawnerOptions {
  /** The config whose queues the slots serve (passed to each worker). */
  config: QueueConfig;
  /** How to start a worker process. */
  command: WorkerCommand;
  /** Extra flags for each worker (`-v`, `-debug`). */
  workerFlags: string[];
  /** Added to a job's timeout before its worker is killed. */
  graceMs: number;
  /** The service's logger. */
  logger: Logger;
  /** The restart back-off. */
  policy: RestartPolicy;
  /** Told about every exit, before any restart. */
  onExit: (process: WorkerProcess, end: WorkerProcessEnd) => void;
}

interface Slot {
  queue: string;
  process: WorkerProcess | null;
  crashes: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Keeps one worker process alive per slot until drained. */
export class SlotSpawner {
  #options: SlotSpawnerOptions;
  #slots: Slot[] = [];
  #draining = false;

  /** Creates the slots: `processes` per configured queue, highest priority first. */
  constructor(options: SlotSpawnerOptions) {
    this.#options = options;
    const queues = Object.entries(options.config.queues).sort(([, a], [, b]) =>
      b.priority - a.priority
    );
    for (const [queue, settings] of queues) {
      for (let i = 0; i < settings.processes; i++) {
        this.#slots.push({ queue, process: null, crashes: 0, timer: undefined });
      }
    }
  }

  /** Starts a worker process in every slot. */
  startAll(): void {
    for (const slot of this.#slots) this.#spawn(slot);
  }

  /** The worker processes running now. */
  running(): WorkerProcess[] {
    return this.#slots.flatMap((slot) => slot.process ? [slot.process] : []);
  }

  /** Drains every worker process and resolves when all have exited; no restarts after. */
  async drainAll(): Promise<void> {
    this.#draining = true;
    for (const slot of this.#slots) clearTimeout(slot.timer);
    const running = this.running();
    await Promise.all(running.map((process) => process.drain()));
    await Promise.all(running.map((process) => process.ended));
  }

  /** Kills every worker process at once; no restarts after. */
  killAll(reason: string): void {
    this.#draining = true;
    for (const slot of this.#slots) clearTimeout(slot.timer);
    for (const process of this.running()) process.kill(reason);
  }

  #spawn(slot: Slot): void {
    if (this.#draining) return;
    const { command, config, workerFlags, graceMs, logger } = this.#options;
    let process: WorkerProcess;
    try {
      process = new WorkerProcess(command, slot.queue, config, [
        `-queue=${slot.queue}`,
        ...workerFlags,
      ], graceMs);
    } catch (error) {
      logger.error(`cannot start a worker for ${slot.queue}: ${(error as Error).message}`);
      this.#schedule(slot, this.#options.policy.maxMs);
      return;
    }
    slot.process = process;
    logger.info(`started worker pid ${process.pid} for queue ${slot.queue}`);
    logger.debug(`worker pid ${process.pid}: ${[command.command, ...command.args].join(" ")}`);
    process.ended.then((end) => this.#exited(slot, process, end));
  }

  #exited(slot: Slot, process: WorkerProcess, end: WorkerProcessEnd): void {
    if (slot.process === process) slot.process = null;
    this.#options.onExit(process, end);
    if (this.#draining) {
      this.#options.logger.debug(
        `worker pid ${process.pid} for ${slot.queue} exited (${describe(end)})`,
      );
      return;
    }
    const policy = this.#options.policy;
    slot.crashes = policy.isCrash(end) ? slot.crashes + 1 : 0;
    const delay = policy.delay(end, slot.crashes);
    const level = end.code === 0 && end.killedFor === null ? "info" : "warn";
    this.#options.logger.log(
      level,
      `worker pid ${process.pid} for ${slot.queue} exited (${
        describe(end)
      }); restarting in ${delay} ms`,
    );
    this.#schedule(slot, delay);
  }

  #schedule(slot: Slot, delay: number): void {
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      this.#spawn(slot);
    }, delay);
  }
}

function describe(end: WorkerProcessEnd): string {
  if (end.killedFor) return `killed: ${end.killedFor}`;
  if (end.signal) return `killed by ${end.signal}`;
  if (end.reason) return `${end.reason}, code ${end.code}`;
  return `code ${end.code}`;
}
