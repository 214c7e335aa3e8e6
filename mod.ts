/**
 * A Deno-first job queue: the queue system of the Go Admin Scaffold in
 * TypeScript. Jobs are classes with `handle()`; a {@link Manager} pushes,
 * pops and inspects them; a {@link Worker} runs them with timeouts, retries
 * with backoff, priorities and limits. Drivers: SQLite (embedded default),
 * Redis, MySQL/MariaDB and memory. For operations: {@link prometheusText},
 * alert rules ({@link checkAlerts}, {@link AlertMonitor}) and the web
 * dashboard with `/metrics` ({@link startOpsServer}).
 *
 * @example
 * ```ts
 * import { BaseJob, Manager, registerJob, Worker } from "./mod.ts";
 *
 * class ExampleJob extends BaseJob {
 *   message = "";
 *   handle(): void {
 *     console.log(`Processing message: ${this.message}`);
 *   }
 * }
 * registerJob(ExampleJob);
 *
 * const manager = new Manager({ driver: "memory" });
 * await manager.push(Object.assign(new ExampleJob(), { message: "Hello, Queue!" }));
 * const worker = new Worker(manager, ["default"], { maxJobs: 1 });
 * await worker.start();
 * await manager.close();
 * ```
 *
 * @module
 */

export {
  BaseJob,
  type JobContext,
  type JobInterface,
  type JobOptions,
  type RawHandler,
  RawJob,
} from "./src/job.ts";
export {
  defaultRegistry,
  type JobClass,
  JobRegistry,
  registerJob,
  registerRawHandler,
} from "./src/job_registry.ts";
export {
  createManager,
  Manager,
  type ManagerOptions,
  type PushRawOptions,
  type Reservation,
} from "./src/manager.ts";
export {
  Worker,
  type WorkerEvent,
  type WorkerExit,
  type WorkerExitReason,
  type WorkerOptions,
} from "./src/worker.ts";
export {
  applyEnvOverrides,
  DEFAULT_CONFIG_PATH,
  defaultConfig,
  EMBEDDED_SOURCE,
  fromSeedConfig,
  loadConfig,
  type LoadConfigOptions,
  parseConfig,
  resolveConfig,
  type SeedManagerConfig,
} from "./src/config.ts";
export type * from "./src/config_types.ts";
export type * from "./src/drivers/driver.ts";
export { MemoryDriver, type MemoryDriverOptions } from "./src/drivers/memory.ts";
export { createDriver } from "./src/drivers/factory.ts";
export {
  assertQueueName,
  ConfigError,
  ConnectionError,
  InvalidQueueNameError,
  JobTimeoutError,
  PayloadError,
  QueueError,
  UnknownJobTypeError,
  UnrecoverableError,
} from "./src/errors.ts";
export {
  decodePayload,
  DEFAULT_MAX_PAYLOAD_BYTES,
  encodePayload,
  WIRE_VERSION,
  type WirePayload,
} from "./src/wire.ts";
export { parseDuration } from "./src/duration.ts";
export {
  QueueService,
  type QueueServiceOptions,
  type WorkerProcessInfo,
} from "./src/supervisor.ts";
export type { WorkerCommand } from "./src/worker_process.ts";
export {
  type JobLogEvent,
  type LogFields,
  Logger,
  type LoggerOptions,
  type LogLevel,
} from "./src/log.ts";
export {
  collectSnapshot,
  DEFAULT_ALIVE_MS,
  type OpsSource,
  type QueueSnapshot,
  type Snapshot,
} from "./src/ops/snapshot.ts";
export { prometheusText } from "./src/ops/prometheus.ts";
export {
  type AlertLogger,
  AlertMonitor,
  type AlertMonitorOptions,
  type AlertNotification,
  checkAlerts,
  type CheckResult,
  type DeliveryOptions,
  type Finding,
} from "./src/ops/alerts.ts";
export { type OpsServer, type OpsServerOptions, startOpsServer } from "./src/ops/dashboard.ts";
