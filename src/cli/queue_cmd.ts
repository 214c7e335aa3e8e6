/**
 * The `queue-cmd` executable: runs the queue service in the foreground
 * (`-start`), stops every worker on the backend (`-stop`), lists and clears
 * queues, and manages failed jobs.
 *
 * @module
 */

import { loggerFromConfig } from "../log.ts";
import { QueueService } from "../supervisor.ts";
import { type FlagSpec, type FlagValues, UsageError } from "./flags.ts";
import { backendAddress, configFromFlags, openManager } from "./connect.ts";
import { errorSentence, runMain } from "./run.ts";
import { assertQueueName, ConnectionError } from "../errors.ts";
import { drainOnSignals, runServiceChild } from "./worker_main.ts";
import {
  clearQueue,
  failedCommand,
  listQueues,
  migrate,
  pauseQueue,
  stopAll,
} from "./queue_cmd_actions.ts";

/** The flags of `queue-cmd`. */
export const QUEUE_CMD_FLAGS: FlagSpec[] = [
  {
    name: "start",
    type: "boolean",
    description: "Run the queue service in the foreground (Ctrl+C drains and stops it).",
  },
  {
    name: "stop",
    type: "boolean",
    description: "Tell every worker and queue service on the backend to drain and exit.",
  },
  {
    name: "list",
    type: "boolean",
    description: "List the configured queues with priority, processes and sizes.",
  },
  {
    name: "clear",
    type: "boolean",
    description: "Empty the queue named by -queue (says how many jobs it removed).",
  },
  {
    name: "queue",
    type: "string",
    placeholder: "NAME",
    description: "The queue for -clear, -failed and -flush.",
  },
  {
    name: "config",
    type: "string",
    placeholder: "PATH",
    description: "Config file (default: configs/config.yaml, else the embedded SQLite default).",
  },
  { name: "debug", type: "boolean", description: "Debug logging (and stack traces of errors)." },
  { name: "v", type: "boolean", description: "Verbose: a line for every job started and done." },
  {
    name: "watch",
    type: "boolean",
    description: "With -start: restart the workers (draining first) when the config file changes.",
  },
  {
    name: "failed",
    type: "boolean",
    description: "List failed jobs (newest first; -queue to filter).",
  },
  {
    name: "retry",
    type: "string",
    placeholder: "ID|all",
    description: "Put a failed job (or all of them) back on its queue.",
  },
  { name: "forget", type: "string", placeholder: "ID", description: "Delete a failed job." },
  { name: "flush", type: "boolean", description: "Delete all failed jobs (of -queue, if given)." },
  {
    name: "pause",
    type: "string",
    placeholder: "NAME",
    description: "Pause a queue: it still accepts jobs, but no worker takes them.",
  },
  {
    name: "resume",
    type: "string",
    placeholder: "NAME",
    description: "Resume a paused queue: workers take its jobs again.",
  },
  {
    name: "migrate",
    type: "boolean",
    description: "Create the tables of the database or sqlite driver.",
  },
];

const HELP = {
  program: "queue-cmd",
  summary: "manages the queues: runs the queue service, stops it, lists and clears queues.",
  examples: [
    "queue-cmd -start",
    "queue-cmd -config=configs/production.yaml -start",
    "queue-cmd -stop",
    "queue-cmd -list",
    "queue-cmd -clear -queue=default",
    "queue-cmd -start -config=configs/config.dev.yaml -debug -watch",
    "queue-cmd -failed",
    "queue-cmd -retry=all",
    "queue-cmd -pause=default",
    "queue-cmd -resume=default",
  ],
};

const ACTIONS = [
  "start",
  "stop",
  "list",
  "clear",
  "failed",
  "retry",
  "forget",
  "flush",
  "migrate",
  "pause",
  "resume",
];

function chosenAction(flags: FlagValues): string {
  const chosen = ACTIONS.filter((name) => flags[name] !== undefined && flags[name] !== false);
  if (chosen.length === 0) {
    throw new UsageError(
      "Give one of -start, -stop, -list, -clear, -failed, -retry, -forget, -flush, -migrate, -pause or -resume; run with -help to see the flags.",
    );
  }
  if (chosen.length > 1) {
    throw new UsageError(`Flags -${chosen[0]} and -${chosen[1]} cannot be used together.`);
  }
  if (flags.watch && chosen[0] !== "start") {
    throw new UsageError("Flag -watch only works with -start.");
  }
  return chosen[0];
}

async function startService(flags: FlagValues): Promise<number> {
  const path = flags.config as string | undefined;
  const config = await configFromFlags(path);
  const logger = loggerFromConfig(config.log, {
    verbose: flags.v as boolean,
    debug: flags.debug as boolean,
    name: "queue-cmd",
  });
  const workerFlags = [...(flags.v ? ["-v"] : []), ...(flags.debug ? ["-debug"] : [])];
  if (flags.watch && config.source.startsWith("(")) {
    logger.warn("-watch has no config file to watch (the embedded default is in use)");
  }
  const service = new QueueService(config, {
    configPath: path ?? (config.source.startsWith("(") ? undefined : config.source),
    logger,
    watch: Boolean(flags.watch),
    workerFlags,
  });
  try {
    await service.start();
  } catch (error) {
    if (!(error instanceof ConnectionError)) throw error;
    const reason = errorSentence(error);
    const where = backendAddress(config);
    if (reason.includes(where)) throw new Error(reason);
    throw new Error(`Cannot reach the ${config.driver} backend at ${where}: ${reason}`);
  }
  const removeSignals = drainOnSignals(() => service.stop());
  try {
    await service.done;
  } finally {
    removeSignals();
    logger.close();
  }
  return 0;
}

async function command(flags: FlagValues): Promise<number> {
  const action = chosenAction(flags);
  if (action === "start") return await startService(flags);
  if (action === "clear" && flags.queue === undefined) {
    throw new UsageError("Flag -clear needs -queue=NAME, the queue to empty.");
  }
  if (action === "pause" || action === "resume") {
    const name = flags[action] as string;
    try {
      assertQueueName(name);
    } catch {
      throw new UsageError(
        `Flag -${action} needs a queue name of 1-64 letters, digits, '_', '-', '.' or ':', not "${name}".`,
      );
    }
  }
  const config = await configFromFlags(flags.config as string | undefined);
  const manager = await openManager(config);
  try {
    switch (action) {
      case "stop":
        return await stopAll(manager);
      case "list":
        return await listQueues(manager, config);
      case "clear":
        return await clearQueue(manager, flags.queue as string);
      case "migrate":
        return migrate(manager);
      case "pause":
      case "resume":
        return await pauseQueue(manager, flags[action] as string, action === "pause");
      default:
        return await failedCommand(manager, action, flags);
    }
  } finally {
    await manager.close();
  }
}

/**
 * The `queue-cmd` executable; returns the exit code (0, 1 on a runtime
 * error, 2 on a usage error). In a worker process of the queue service it
 * runs the worker instead.
 */
export async function main(args: readonly string[] = Deno.args): Promise<number> {
  const child = await runServiceChild();
  if (child !== null) return child;
  return await runMain(HELP, QUEUE_CMD_FLAGS, args, command);
}
