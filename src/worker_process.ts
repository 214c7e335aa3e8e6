/**
 * One worker process of the queue service: how it is spawned, what it reports
 * over the line protocol (`worker_protocol.ts`), the jobs it runs with their
 * deadlines, and how it is drained or killed.
 *
 * @module
 */

import type { QueueConfig } from "./config_types.ts";
import { CHILD_ENV, decodeMessage, readLines } from "./worker_protocol.ts";

/** How to start a worker process: the executable and the arguments before the worker's flags. */
export interface WorkerCommand {
  /** The executable (`Deno.execPath()`). */
  command: string;
  /** Arguments before the worker flags, e.g. `["run", "--allow-net", ..., "cli/queue_cmd.ts"]`. */
  args: string[];
}

/** Environment variable carrying the resolved config (JSON) to a worker process. */
export const CONFIG_ENV = "QUEUE_SERVICE_CONFIG";

const PERMISSIONS = ["net", "read", "write", "env", "run", "sys", "ffi"] as const;

/** True when this is a `deno compile` binary rather than `deno run`. */
export function runningCompiled(): boolean {
  const exe = Deno.execPath().split(/[\\/]/).pop() ?? "";
  return !/^deno(\.exe)?$/i.test(exe);
}

/**
 * The command that runs this same program again: the binary itself when
 * compiled, else `deno run` with the permissions this process holds and the
 * same main module.
 */
export function selfCommand(): WorkerCommand {
  if (runningCompiled()) return { command: Deno.execPath(), args: [] };
  const flags = PERMISSIONS
    .filter((name) => Deno.permissions.querySync({ name }).state === "granted")
    .map((name) => `--allow-${name}`);
  return { command: Deno.execPath(), args: ["run", "--quiet", ...flags, Deno.mainModule] };
}

/** What happened to a worker process when it ended. */
export interface WorkerProcessEnd {
  /** Exit code (or 1 when killed). */
  code: number;
  /** The signal that killed it, if any. */
  signal: string | null;
  /** The reason it reported ("max_jobs", "memory", "stopped", ...), or null when it did not. */
  reason: string | null;
  /** Why the service killed it, if it did ("timeout"). */
  killedFor: string | null;
  /** How long it ran, in milliseconds. */
  uptimeMs: number;
}

/** A running job as the service tracks it. */
interface RunningJob {
  queue: string;
  deadline: number;
  timeoutMs: number;
}

/** One spawned worker process serving one queue. */
export class WorkerProcess {
  /** The queue it serves. */
  readonly queue: string;
  /** Its process id. */
  readonly pid: number;
  /** When it was spawned (local clock). */
  readonly startedAt: number = Date.now();
  /** Resolves when the process has exited. */
  readonly ended: Promise<WorkerProcessEnd>;
  #child: Deno.ChildProcess;
  #jobs = new Map<string, RunningJob>();
  #reason: string | null = null;
  #killedFor: string | null = null;
  #drained = false;

  /** Spawns the process. `graceMs` is added to each job's timeout before a kill. */
  constructor(
    command: WorkerCommand,
    queue: string,
    config: QueueConfig,
    workerArgs: string[],
    readonly graceMs: number,
  ) {
    this.queue = queue;
    this.#child = new Deno.Command(command.command, {
      args: [...command.args, ...workerArgs],
      env: { [CHILD_ENV]: JSON.stringify(workerArgs), [CONFIG_ENV]: JSON.stringify(config) },
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.pid = this.#child.pid;
    const pumped = this.#pump();
    this.ended = Promise.all([this.#child.status, pumped]).then(([status]) => ({
      code: status.code,
      signal: status.signal,
      reason: this.#reason,
      killedFor: this.#killedFor,
      uptimeMs: Date.now() - this.startedAt,
    }));
  }

  async #pump(): Promise<void> {
    const out = Deno.stdout;
    const encoder = new TextEncoder();
    try {
      for await (const line of readLines(this.#child.stdout)) {
        const message = decodeMessage(line);
        if (!message) {
          out.writeSync(encoder.encode(line + "\n"));
          continue;
        }
        if (message.ev === "started") {
          const deadline = Date.now() + message.timeoutMs + this.graceMs;
          this.#jobs.set(message.job, {
            queue: message.queue,
            deadline,
            timeoutMs: message.timeoutMs,
          });
        } else if (message.ev === "finished") {
          this.#jobs.delete(message.job);
        } else if (message.ev === "exit") {
          this.#reason = message.reason;
        }
      }
    } catch {
      // The pipe broke: the process is gone; `status` tells the rest.
    }
  }

  /** Jobs now running past their timeout plus the grace period. */
  overdue(now = Date.now()): { job: string; queue: string; timeoutMs: number }[] {
    return [...this.#jobs.entries()]
      .filter(([, running]) => running.deadline < now)
      .map(([job, running]) => ({ job, queue: running.queue, timeoutMs: running.timeoutMs }));
  }

  /** Jobs running now. */
  get runningJobs(): number {
    return this.#jobs.size;
  }

  /** Asks the process to finish its jobs in flight and exit (writes `drain`, closes stdin). */
  async drain(): Promise<void> {
    if (this.#drained) return;
    this.#drained = true;
    try {
      const writer = this.#child.stdin.getWriter();
      await writer.write(new TextEncoder().encode("drain\n"));
      await writer.close();
    } catch {
      // Already gone.
    }
  }

  /** Kills the process at once (SIGKILL), recording why. */
  kill(reason: string): void {
    this.#killedFor ??= reason;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }
}
