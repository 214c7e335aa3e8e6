/**
 * The seed's custom worker: a Manager, WorkerOptions, and a Worker over the
 * "default" and "high" queues (high first). Runs until Ctrl+C, then lets the
 * job in flight finish.
 *
 *     deno run -A examples/queue/worker.ts [-config=configs/config.yaml]
 */
import { loadConfig, Manager, Worker, type WorkerOptions } from "../../mod.ts";
import "./jobs/mod.ts";

const configFlag = Deno.args.find((arg) => arg.startsWith("-config="));
const manager = new Manager(await loadConfig(configFlag?.slice("-config=".length)));

const options: WorkerOptions = {
  sleep: 3_000,
  maxJobs: 100,
  memory: 256,
  tries: 3,
  timeout: 60_000,
  onEvent: (event) =>
    console.log(`${event.type} ${event.jobType} ${event.jobId} on ${event.queue}`),
};
const worker = new Worker(manager, ["default", "high"], options);

Deno.addSignalListener("SIGINT", () => worker.stop());
const exit = await worker.start();
console.log(
  `Worker stopped (${exit.reason}): ${exit.processed} done, ${exit.failed} failed attempts.`,
);
await manager.close();
