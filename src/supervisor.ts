/**
 * The queue service (the seed's `services.NewQueueService()` / `Start()` /
 * `Stop()`, and what `queue-cmd -start` runs): for each configured queue,
 * `processes` worker processes of this same program, restarted when they
 * exit, killed when a job outlives its timeout, drained on stop.
 *
 * @module
 */

import { loadConfig } from "./config.ts";
import type { QueueConfig } from "./config_types.ts";
import { Logger } from "./log.ts";
import { Manager } from "./manager.ts";
import type { WorkerCommand, WorkerProcess, WorkerProcessEnd } from "./worker_process.ts";
import { selfCommand } from "./worker_process.ts";
import { RestartPolicy, SlotSpawner } from "./supervisor_slots.ts";
import { watchConfig } from "./supervisor_watch.ts";
import { type ServiceOps, startServiceOps } from "./supervisor_ops.ts";
import { runServiceChild } from "./cli/worker_main.ts";

/** Options of {@link QueueService}. */
export interface QueueServiceOptions {
  /** The resolved config; default: `loadConfig(configPath)`. */
  config?: QueueConfig;
  /** The config file (for loading and for `watch`). */
  configPath?: string;
  /** Where the service logs (default: stderr at info). */
  logger?: Logger;
  /** Restart the workers (draining first) when the config file changes. */
  watch?: boolean;
  /** Extra flags for every worker process (e.g. `-v`, `-debug`). */
  workerFlags?: string[];
  /** How to start a worker process (default: this same program, see `selfCommand`). */
  command?: WorkerCommand;
  /** Added to a job's timeout before its worker process is killed (default 5000 ms). */
  killGraceMs?: number;
  /** How often the backend's stop broadcast is checked (default 500 ms). */
  stopPollMs?: number;
}

/** One worker process as `QueueService.processes()` reports it. */
export interface WorkerProcessInfo {
  /** The queue it serves. */
  queue: string;
  /** Process id. */
  pid: number;
  /** When it was started (epoch ms). */
  startedAt: number;
  /** Jobs it is running now. */
  runningJobs: number;
}

/**
 * The queue service. `start()` spawns the worker processes and returns;
 * `stop()` drains them (each finishes its jobs in flight) and resolves when
 * all have exited; `done` resolves when the service has stopped for any
 * reason (stop(), `queue-cmd -stop` through the backend).
 *
 * Worker processes run this same program again (the compiled binary, or
 * `deno run` of the same main module with this process's permissions); in
 * such a process `start()` runs the worker and exits the process when the
 * worker ends, so a program written as the seed's `NewQueueService()` /
 * `Start()` / wait / `Stop()` works unchanged.
 *
 * @example
 * ```ts ignore
 * import { QueueService } from "@scaffold/queue";
 * const service = await QueueService.create({ configPath: "configs/config.yaml" });
 * await service.start();
 * Deno.addSignalListener("SIGTERM", () => service.stop());
 * await service.done;
 * ```
 */
export class QueueService {
  /** Resolves when the service has stopped and every worker process has exited. */
  readonly done: Promise<void>;
  #options: QueueServiceOptions;
  #config: QueueConfig;
  #logger: Logger;
  #manager: Manager | null = null;
  #spawner: SlotSpawner | null = null;
  #timers: ReturnType<typeof setInterval>[] = [];
  #stopping: Promise<void> | null = null;
  #resolveDone!: () => void;
  #startedAt = 0;
  #unwatch: (() => void) | null = null;
  #ops: ServiceOps | null = null;

  /** Creates a service for a resolved config (see {@link QueueService.create} to load one). */
  constructor(config: QueueConfig, options: QueueServiceOptions = {}) {
    this.#config = config;
    this.#options = options;
    this.#logger = options.logger ?? new Logger({ name: "queue-service" });
    this.done = new Promise((resolve) => this.#resolveDone = resolve);
  }

  /** Loads the config (`options.config`, else `options.configPath` or the default) and creates the service. */
  static async create(options: QueueServiceOptions = {}): Promise<QueueService> {
    await QueueService.#becomeWorkerIfSpawned();
    const config = options.config ?? await loadConfig(options.configPath);
    return new QueueService(config, options);
  }

  /** In a worker process a service spawned (this program, run again), runs the worker and exits. */
  static async #becomeWorkerIfSpawned(): Promise<void> {
    const code = await runServiceChild();
    if (code !== null) Deno.exit(code);
  }

  /** The config the service runs with (replaced when `watch` reloads it). */
  get config(): QueueConfig {
    return this.#config;
  }

  /**
   * Connects to the backend and spawns the worker processes; returns once
   * they are started. Throws when the backend cannot be reached.
   */
  async start(): Promise<void> {
    await QueueService.#becomeWorkerIfSpawned();
    if (this.#spawner) throw new Error("The queue service is already started.");
    for (const warning of this.#config.warnings) this.#logger.warn(warning);
    this.#manager = new Manager(this.#config);
    await this.#manager.connect();
    this.#startedAt = await this.#manager.driver.now();
    try {
      this.#ops = await startServiceOps(this.#manager, this.#config, this.#logger);
    } catch (error) {
      await this.#manager.close().catch(() => {});
      this.#manager = null;
      throw error;
    }
    this.#spawner = this.#newSpawner(this.#config);
    this.#spawner.startAll();
    this.#timers.push(setInterval(() => this.#watchdog(), 250));
    this.#timers.push(setInterval(() => this.#pollStop(), this.#options.stopPollMs ?? 500));
    if (this.#options.watch && this.#options.configPath) {
      this.#unwatch = watchConfig(
        this.#options.configPath,
        this.#logger,
        (next) => this.#reload(next),
      );
    }
    const total = Object.values(this.#config.queues).reduce((sum, q) => sum + q.processes, 0);
    this.#logger.info(
      `queue service started: ${total} worker processes on ${this.#manager.driver.target} (config ${this.#config.source})`,
    );
  }

  /** The worker processes running now. */
  processes(): WorkerProcessInfo[] {
    return (this.#spawner?.running() ?? []).map((p: WorkerProcess) => ({
      queue: p.queue,
      pid: p.pid,
      startedAt: p.startedAt,
      runningJobs: p.runningJobs,
    }));
  }

  /**
   * Drains every worker process (each finishes its jobs in flight, then
   * exits) and resolves when all have exited. Calling it again while it runs
   * kills the workers at once (a second Ctrl+C).
   */
  stop(): Promise<void> {
    if (this.#stopping) {
      this.#logger.warn("stopping now: killing the worker processes");
      this.#spawner?.killAll("forced stop");
      return this.#stopping;
    }
    this.#stopping = this.#shutdown();
    return this.#stopping;
  }

  async #shutdown(): Promise<void> {
    this.#unwatch?.();
    await this.#ops?.stop();
    this.#ops = null;
    this.#logger.info("queue service draining: workers finish their jobs in flight");
    await this.#spawner?.drainAll();
    for (const timer of this.#timers) clearInterval(timer);
    await this.#manager?.close().catch(() => {});
    this.#logger.info("queue service stopped");
    this.#resolveDone();
  }

  #newSpawner(config: QueueConfig): SlotSpawner {
    return new SlotSpawner({
      config,
      command: this.#options.command ?? selfCommand(),
      workerFlags: this.#options.workerFlags ?? [],
      graceMs: this.#options.killGraceMs ?? 5000,
      logger: this.#logger,
      policy: new RestartPolicy(),
      onExit: (process, end) => this.#onWorkerExit(process, end),
    });
  }

  #onWorkerExit(process: WorkerProcess, end: WorkerProcessEnd): void {
    if (end.reason === "stop_broadcast" && !this.#stopping) {
      this.#logger.info(`worker ${process.pid} received the stop broadcast`);
      this.stop();
    }
  }

  #watchdog(): void {
    for (const process of this.#spawner?.running() ?? []) {
      const [late] = process.overdue();
      if (!late) continue;
      this.#logger.error(
        `worker ${process.pid}: job ${late.job} on ${late.queue} ran past its timeout of ${
          late.timeoutMs / 1000
        } s plus ${
          process.graceMs / 1000
        } s; killing the worker (the job will be retried after retry_after)`,
      );
      process.kill("timeout");
    }
  }

  async #pollStop(): Promise<void> {
    if (this.#stopping || !this.#manager) return;
    try {
      const at = await this.#manager.lastStopAt();
      if (at !== null && at >= this.#startedAt && !this.#stopping) {
        this.#logger.info("stop broadcast received (queue-cmd -stop)");
        this.stop();
      }
    } catch (error) {
      this.#logger.warn(`cannot read the stop broadcast: ${(error as Error).message}`);
    }
  }

  async #reload(next: QueueConfig): Promise<void> {
    if (this.#stopping || !this.#spawner) return;
    this.#logger.info(`config ${next.source} changed: draining the workers, then restarting them`);
    const old = this.#spawner;
    this.#spawner = null;
    await old.drainAll();
    if (this.#stopping) return;
    const sameStore = JSON.stringify([next.driver, next.redis, next.mysql, next.sqlite]) ===
      JSON.stringify([
        this.#config.driver,
        this.#config.redis,
        this.#config.mysql,
        this.#config.sqlite,
      ]);
    const sameOps = sameStore &&
      JSON.stringify([next.http, next.alerts]) ===
        JSON.stringify([this.#config.http, this.#config.alerts]);
    if (!sameOps) {
      await this.#ops?.stop();
      this.#ops = null;
    }
    this.#config = next;
    if (!sameStore) {
      await this.#manager?.close().catch(() => {});
      this.#manager = new Manager(next);
      try {
        await this.#manager.connect();
        this.#startedAt = await this.#manager.driver.now();
      } catch (error) {
        // The workers report it too, and restart with back-off until the store answers.
        this.#logger.error(`cannot reach the new store: ${(error as Error).message}`);
      }
    }
    if (!sameOps && this.#manager && !this.#stopping) {
      this.#ops = await startServiceOps(this.#manager, next, this.#logger).catch((error) => {
        this.#logger.error(`dashboard and alerts not restarted: ${(error as Error).message}`);
        return null;
      });
    }
    this.#spawner = this.#newSpawner(next);
    this.#spawner.startAll();
    this.#logger.info("workers restarted with the new config");
  }
}
