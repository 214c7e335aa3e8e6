/**
 * The one-shot actions of `queue-cmd`: -stop, -list, -clear, -migrate,
 * -pause, -resume and the failed-job commands. Each prints its result and returns the exit code.
 *
 * @module
 */

import type { QueueConfig } from "../config_types.ts";
import type { Manager } from "../manager.ts";
import type { FlagValues } from "./flags.ts";
import { queueNames } from "./queue_status.ts";
import { formatTable } from "./table.ts";

const ALIVE_MS = 30_000;

/** Broadcasts stop; waits briefly to report how many workers have exited. */
export async function stopAll(manager: Manager, waitMs = 5000): Promise<number> {
  const before = await manager.workers(ALIVE_MS).catch(() => []);
  const at = await manager.broadcastStop();
  console.log(
    `Stop broadcast sent through ${manager.driver.target} at ${new Date(at).toISOString()}.`,
  );
  if (before.length === 0) {
    console.log("No worker had reported in the last 30 s; any that start later are not affected.");
    return 0;
  }
  const ids = new Set(before.map((w) => w.id));
  const deadline = Date.now() + waitMs;
  let left = before.length;
  while (Date.now() < deadline) {
    const alive = await manager.workers(ALIVE_MS).catch(() => []);
    left = alive.filter((w) => ids.has(w.id)).length;
    if (left === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const hosts = new Set(before.map((w) => w.host)).size;
  console.log(
    `${before.length - left} of ${before.length} workers on ${hosts} host(s) have stopped` +
      (left > 0 ? `; ${left} are finishing their current jobs.` : "."),
  );
  return 0;
}

/** Prints the configured queues with priority, processes and sizes. */
export async function listQueues(manager: Manager, config: QueueConfig): Promise<number> {
  const names = await queueNames(manager, config);
  const sizes = await Promise.all(names.map((name) => manager.size(name)));
  console.log(
    `Queues (driver ${config.driver}, ${manager.driver.target}, config ${config.source}):`,
  );
  console.log(formatTable(
    ["QUEUE", "PRIORITY", "PROCESSES", "TIMEOUT", "TRIES", "RETRY_AFTER", "SIZE"],
    names.map((name, i) => {
      const q = config.queues[name];
      if (!q) return [name + " (not configured)", "-", "-", "-", "-", "-", sizes[i]];
      return [
        name,
        q.priority,
        q.processes,
        `${q.timeoutMs / 1000}s`,
        q.tries,
        `${q.retryAfterMs / 1000}s`,
        sizes[i],
      ];
    }),
  ));
  return 0;
}

/** Empties a queue and says how many jobs it removed. */
export async function clearQueue(manager: Manager, queue: string): Promise<number> {
  const removed = await manager.clear(queue);
  console.log(`Cleared ${removed} job${removed === 1 ? "" : "s"} from queue "${queue}".`);
  return 0;
}

/** Pauses (or resumes) a queue and says what that means. */
export async function pauseQueue(manager: Manager, queue: string, pause: boolean): Promise<number> {
  if (pause) {
    await manager.pause(queue);
    console.log(
      `Paused queue "${queue}": it still accepts jobs, but no worker takes them until -resume=${queue}.`,
    );
  } else {
    await manager.resume(queue);
    console.log(`Resumed queue "${queue}": workers take its jobs again.`);
  }
  return 0;
}

/** Creates the tables (connecting already did it) and says so. */
export function migrate(manager: Manager): number {
  const driver = manager.driver;
  if (driver.name === "redis" || driver.name === "memory") {
    console.log(`The ${driver.name} driver needs no tables (${driver.target}).`);
  } else {
    console.log(`The jobs and failed jobs tables are ready in ${driver.target}.`);
  }
  return 0;
}

/** -failed, -retry, -forget and -flush. */
export async function failedCommand(
  manager: Manager,
  action: string,
  flags: FlagValues,
): Promise<number> {
  const queue = flags.queue as string | undefined;
  switch (action) {
    case "failed": {
      const jobs = await manager.failedJobs({ queue, limit: 100 });
      if (jobs.length === 0) {
        console.log(`No failed jobs${queue ? ` on queue "${queue}"` : ""}.`);
        return 0;
      }
      console.log(formatTable(
        ["ID", "QUEUE", "FAILED AT", "ATTEMPTS", "ERROR"],
        jobs.map((job) => [
          job.id,
          job.queue,
          new Date(job.failedAt).toISOString(),
          job.attempts,
          job.error.split("\n")[0].slice(0, 80),
        ]),
      ));
      return 0;
    }
    case "retry": {
      const id = flags.retry as string;
      const count = await manager.retryFailed(id);
      if (id !== "all" && count === 0) throw new Error(`No failed job has the id ${id}.`);
      console.log(
        `Put ${count} failed job${count === 1 ? "" : "s"} back on ${
          count === 1 ? "its queue" : "their queues"
        }.`,
      );
      return 0;
    }
    case "forget": {
      const id = flags.forget as string;
      if (!(await manager.forgetFailed(id))) throw new Error(`No failed job has the id ${id}.`);
      console.log(`Deleted failed job ${id}.`);
      return 0;
    }
    default: {
      const count = await manager.flushFailed(queue);
      console.log(
        `Deleted ${count} failed job${count === 1 ? "" : "s"}${
          queue ? ` of queue "${queue}"` : ""
        }.`,
      );
      return 0;
    }
  }
}
