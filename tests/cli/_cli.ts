/**
 * Helpers of the CLI end-to-end tests: run the real entry points with
 * `deno run`, write temporary configs, read the service's log.
 */

import { sleep } from "../_services.ts";

/** The repository root. */
export const ROOT: string = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** The permission flags of the deno tasks (keep in sync with deno.json). */
export const PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-sys",
];

/** Entry points by executable name. */
export const ENTRY: Record<string, string> = {
  "queue-cmd": `${ROOT}/cli/queue_cmd.ts`,
  "queue-status": `${ROOT}/cli/queue_status.ts`,
  worker: `${ROOT}/cli/worker.ts`,
};

/** What a finished command printed. */
export interface RunResult {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** Runs an executable to the end. */
export async function run(
  program: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<RunResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...PERMISSIONS, ENTRY[program], ...args],
    cwd: options.cwd ?? ROOT,
    env: options.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** A long-running executable (the queue service or a worker) with its collected stderr. */
export class Running {
  /** The process. */
  readonly child: Deno.ChildProcess;
  /** Everything written to stderr so far. */
  log = "";
  /** Everything written to stdout so far. */
  out = "";
  readonly #pumps: Promise<void>[];

  /** Starts `program` with `args`. */
  constructor(program: string, args: string[], cwd = ROOT) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...PERMISSIONS, ENTRY[program], ...args],
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#pumps = [
      this.#pump(this.child.stderr, (text) => this.log += text),
      this.#pump(this.child.stdout, (text) => this.out += text),
    ];
  }

  async #pump(stream: ReadableStream<Uint8Array>, add: (text: string) => void): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) add(decoder.decode(chunk, { stream: true }));
  }

  /** Pids of the worker processes the service reported starting. */
  workerPids(): number[] {
    return [...this.log.matchAll(/started worker pid (\d+)/g)].map((m) => Number(m[1]));
  }

  /** Waits until the log matches `pattern`. */
  async waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.log)) {
      if (Date.now() > deadline) {
        throw new Error(`Timed out waiting for ${pattern} in the log:\n${this.log}`);
      }
      await sleep(50);
    }
  }

  /** Waits for the process to exit; kills it (and fails) after `timeoutMs`. */
  async exit(timeoutMs = 20_000): Promise<Deno.CommandStatus> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.kill();
        reject(new Error(`The process did not exit within ${timeoutMs} ms:\n${this.log}`));
      }, timeoutMs);
    });
    try {
      const status = await Promise.race([this.child.status, timeout]);
      await Promise.all(this.#pumps);
      return status;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the process and the worker processes it reported (test clean-up). */
  kill(): void {
    for (const pid of this.workerPids()) killPid(pid);
    try {
      this.child.kill("SIGKILL");
    } catch {
      // Gone.
    }
  }
}

/** Sends SIGKILL to a process, ignoring one that is gone. */
export function killPid(pid: number): void {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch {
    // Gone.
  }
}

/** True when a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/** A temporary directory with a config file; removed by `cleanup`. */
/** Two SQLite queues (high, default) with the test job classes: for tempSetup. */
export const SQLITE_TWO_QUEUES = `
queue:
  driver: sqlite
  worker: { sleep: 1 }
  queues:
    high: { priority: 2, processes: 1, timeout: 10, retry_after: 30 }
    default: { priority: 1, processes: 1, timeout: 10, retry_after: 30 }
sqlite: { path: "$DIR/queue.db" }
jobs: ["$ROOT/tests/fixtures/cli_jobs.ts"]
`;

/** One SQLite queue served by two worker processes: for tempSetup. */
export const SQLITE_ONE_QUEUE = `
queue:
  driver: sqlite
  worker: { sleep: 1 }
  queues:
    default: { priority: 1, processes: 2, timeout: 10, retry_after: 30 }
sqlite: { path: "$DIR/queue.db" }
`;

export interface TempSetup {
  /** The directory. */
  dir: string;
  /** The config file path. */
  config: string;
  /** Directory where fixture jobs write their markers. */
  out: string;
  /** Removes the directory. */
  cleanup: () => Promise<void>;
}

/** Writes a config (YAML text, `$DIR` replaced by the temp dir) into a new temp dir. */
export async function tempSetup(yaml: string): Promise<TempSetup> {
  const dir = await Deno.makeTempDir({ prefix: "queue_cli_" });
  const out = `${dir}/out`;
  await Deno.mkdir(out);
  const config = `${dir}/config.yaml`;
  await Deno.writeTextFile(config, yaml.replaceAll("$DIR", dir).replaceAll("$ROOT", ROOT));
  return { dir, config, out, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

/** Pushes jobs from another process (see tests/fixtures/push_jobs.ts). */
export async function pushJobs(
  config: string,
  kind: "touch" | "block" | "raw",
  queue: string,
  count: number,
  dir: string,
): Promise<void> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "-A",
      `${ROOT}/tests/fixtures/push_jobs.ts`,
      config,
      kind,
      queue,
      String(count),
      dir,
    ],
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error(`pushing ${kind} jobs failed`);
}

/** Number of files in a directory. */
export async function countFiles(dir: string, prefix = ""): Promise<number> {
  let count = 0;
  for await (const entry of Deno.readDir(dir)) if (entry.name.startsWith(prefix)) count++;
  return count;
}
