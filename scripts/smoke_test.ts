/**
 * Smoke test of the three executables, as the release workflow runs it on
 * each target's own runner, and as anyone can run it locally:
 *
 * ```sh
 * deno run -A scripts/smoke_test.ts dist/x86_64-unknown-linux-gnu   # a directory of binaries
 * deno run -A scripts/smoke_test.ts ./queue-cmd ./queue-status ./worker
 * deno run -A scripts/smoke_test.ts --deno-run                      # the cli/ entry points
 * ```
 *
 * Checks, in a temporary directory whose name contains a space: `-help` and
 * `-version` exit 0 (the version is deno.json's); `queue-status -all -json`
 * works on the embedded SQLite default with no config; 100 raw jobs pushed to
 * a temporary SQLite config are all delivered by `worker -queue=smoke` to an
 * HTTP handler; `queue-status -all -json` then reports 0 ready and 0
 * reserved; `queue-cmd -stop` makes the worker exit. Exits 1 with one
 * sentence on the first failure.
 *
 * @module
 */

import { createManager, loadConfig } from "../mod.ts";

/** How many jobs the smoke test pushes and drains. */
export const JOBS = 100;
const QUEUE = "smoke";
const ROOT = new URL("../", import.meta.url);

/** A way to start one executable: the program and its leading arguments. */
export interface Program {
  /** Shown in messages. */
  name: string;
  /** The file to run. */
  command: string;
  /** Arguments before the executable's own flags (for `deno run`). */
  prefix: string[];
}

/** The three executables under test. */
export interface Programs {
  /** `queue-cmd`. */
  queueCmd: Program;
  /** `queue-status`. */
  queueStatus: Program;
  /** `worker`. */
  worker: Program;
}

class SmokeFailure extends Error {}

function fail(message: string): never {
  throw new SmokeFailure(message);
}

const DENO_RUN_PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-sys",
];

function absolute(path: string): string {
  return /^([A-Za-z]:)?[\\/]/.test(path) ? path : `${Deno.cwd()}/${path}`;
}

function rootPath(relative: string): string {
  const path = decodeURIComponent(new URL(relative, ROOT).pathname);
  return path.replace(/^\/([A-Za-z]:)/, "$1");
}

/** Resolves the command line into the three programs. */
export async function programsFromArgs(args: string[]): Promise<Programs> {
  const exe = Deno.build.os === "windows" ? ".exe" : "";
  if (args.length === 1 && args[0] === "--deno-run") {
    const run = (name: string, entry: string): Program => ({
      name,
      command: Deno.execPath(),
      prefix: ["run", ...DENO_RUN_PERMISSIONS, rootPath(entry)],
    });
    return {
      queueCmd: run("queue-cmd", "cli/queue_cmd.ts"),
      queueStatus: run("queue-status", "cli/queue_status.ts"),
      worker: run("worker", "cli/worker.ts"),
    };
  }
  let paths = args;
  if (args.length === 1) {
    const dir = absolute(args[0]);
    if (!(await Deno.stat(dir).catch(() => null))?.isDirectory) {
      fail(
        `${args[0]} is not a directory; give a directory of binaries, three paths, or --deno-run.`,
      );
    }
    paths = ["queue-cmd", "queue-status", "worker"].map((name) => `${dir}/${name}${exe}`);
  }
  if (paths.length !== 3) {
    fail(
      "Usage: smoke_test.ts <queue-cmd> <queue-status> <worker> | <directory of binaries> | --deno-run.",
    );
  }
  const names = ["queue-cmd", "queue-status", "worker"];
  const programs = paths.map((path, i): Program => ({
    name: names[i],
    command: absolute(path),
    prefix: [],
  }));
  for (const program of programs) {
    if (!(await Deno.stat(program.command).catch(() => null))?.isFile) {
      fail(`${program.command} (${program.name}) does not exist.`);
    }
  }
  return { queueCmd: programs[0], queueStatus: programs[1], worker: programs[2] };
}

/** The result of one finished run. */
interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(
  program: Program,
  args: string[],
  cwd: string,
  timeoutMs = 30_000,
): Promise<RunResult> {
  const child = new Deno.Command(program.command, {
    args: [...program.prefix, ...args],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const output = await child.output().finally(() => clearTimeout(timer));
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

function describe(result: RunResult): string {
  const text = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-3).join(" | ");
  return `exit ${result.code}${text ? `: ${text}` : ""}`;
}

async function checkHelpAndVersion(
  programs: Programs,
  cwd: string,
  version: string,
): Promise<void> {
  for (const program of [programs.queueCmd, programs.queueStatus, programs.worker]) {
    const help = await run(program, ["-help"], cwd);
    if (help.code !== 0) fail(`${program.name} -help failed (${describe(help)}).`);
    const shown = await run(program, ["-version"], cwd);
    if (shown.code !== 0 || !(shown.stdout + shown.stderr).includes(version)) {
      fail(`${program.name} -version did not print ${version} (${describe(shown)}).`);
    }
  }
  const bare = await run(programs.queueCmd, [], cwd);
  if (bare.code !== 0) {
    fail(`queue-cmd with no flag should print help and exit 0 (${describe(bare)}).`);
  }
}

/** One queue's row of `queue-status -all -json`. */
interface StatusRow {
  queue: string;
  ready: number;
  reserved: number;
  delayed: number;
  failed: number;
}

async function statusRows(programs: Programs, cwd: string, config?: string): Promise<StatusRow[]> {
  const args = ["-all", "-json", ...(config ? [`-config=${config}`] : [])];
  const result = await run(programs.queueStatus, args, cwd);
  if (result.code !== 0) fail(`queue-status ${args.join(" ")} failed (${describe(result)}).`);
  let parsed: { queues?: StatusRow[] };
  try {
    parsed = JSON.parse(result.stdout);
  } catch {
    fail(`queue-status ${args.join(" ")} did not print JSON: ${result.stdout.slice(0, 200)}`);
  }
  if (!Array.isArray(parsed.queues)) fail(`queue-status -all -json has no "queues" list.`);
  return parsed.queues;
}

function configYaml(dir: string, label: string, port: number): string {
  return [
    "queue:",
    "  driver: sqlite",
    `  queue: ${QUEUE}`,
    "  worker:",
    "    sleep: 1",
    "  queues:",
    `    ${QUEUE}:`,
    "      priority: 1",
    "      processes: 1",
    "      timeout: 30",
    "      tries: 3",
    "      retry_after: 60",
    "sqlite:",
    `  path: ${JSON.stringify(`${dir}/${label}.db`)}`,
    "handlers:",
    `  ${QUEUE}:`,
    `    url: "http://127.0.0.1:${port}/job"`,
    "",
  ].join("\n");
}

/** A local HTTP handler that records the distinct job numbers it receives. */
function startHandler(): { server: Deno.HttpServer<Deno.NetAddr>; received: Set<number> } {
  const received = new Set<number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const body = await request.text();
    try {
      const n = JSON.parse(body).n;
      if (typeof n === "number") received.add(n);
    } catch {
      return new Response("not a smoke job", { status: 400 });
    }
    return new Response("ok");
  });
  return { server, received };
}

async function pushJobs(configPath: string): Promise<void> {
  const config = await loadConfig(configPath);
  const manager = await createManager(config);
  try {
    for (let n = 0; n < JOBS; n++) await manager.pushRaw(QUEUE, { n });
  } finally {
    await manager.close();
  }
}

async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return await check();
}

/** Collects a child's output while it runs, for the failure message. */
function collect(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
  return stream.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void into.push(chunk) }),
  );
}

/** How the jobs are drained: the `worker` executable, or the queue service (`queue-cmd -start`). */
type Drainer = "worker" | "queue-cmd -start";

function spawnDrainer(programs: Programs, drainer: Drainer, config: string, dir: string) {
  const [program, flags] = drainer === "worker"
    ? [programs.worker, [`-config=${config}`, `-queue=${QUEUE}`]]
    : [programs.queueCmd, ["-start", `-config=${config}`]];
  return new Deno.Command(program.command, {
    args: [...program.prefix, ...flags],
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
}

function exitsWithin(child: Deno.ChildProcess, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    child.status.then(() => true),
    new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms)),
  ]).finally(() => clearTimeout(timer));
}

async function drain(programs: Programs, dir: string, drainer: Drainer): Promise<void> {
  const { server, received } = startHandler();
  const label = drainer === "worker" ? "worker" : "service";
  const configPath = `${dir}/${label} config.yaml`;
  await Deno.writeTextFile(configPath, configYaml(dir, label, server.addr.port));
  const stop = () => run(programs.queueCmd, ["-stop", `-config=${configPath}`], dir, 15_000);
  const log: string[] = [];
  let child: Deno.ChildProcess | undefined;
  try {
    await pushJobs(configPath);
    child = spawnDrainer(programs, drainer, configPath, dir);
    const output = Promise.all([collect(child.stdout, log), collect(child.stderr, log)]);
    const tail = () => log.join("").trim().split("\n").slice(-5).join(" | ");
    if (!(await waitFor(() => received.size === JOBS, 60_000))) {
      fail(`${drainer} delivered ${received.size} of ${JOBS} jobs within 60 s (log: ${tail()}).`);
    }
    let row: StatusRow | undefined;
    const settled = await waitFor(async () => {
      row = (await statusRows(programs, dir, configPath)).find((r) => r.queue === QUEUE);
      return row !== undefined && row.ready === 0 && row.reserved === 0;
    }, 10_000);
    if (!settled) {
      fail(`queue-status -all -json reports ${JSON.stringify(row)} after the drain, not 0 ready.`);
    }
    const stopped = await stop();
    if (stopped.code !== 0) fail(`queue-cmd -stop failed (${describe(stopped)}).`);
    if (!(await exitsWithin(child, 15_000))) {
      fail(`${drainer} did not exit within 15 s of queue-cmd -stop (log: ${tail()}).`);
    }
    await output;
    child = undefined;
  } finally {
    if (child) {
      // Stop through the backend first, so that the service's worker processes exit too.
      await stop().catch(() => {});
      if (!(await exitsWithin(child, 5_000))) {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }
      await child.status;
    }
    await server.shutdown();
  }
}

async function removeDir(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      return await Deno.remove(dir, { recursive: true });
    } catch {
      // Windows keeps a just-closed SQLite file locked for a moment.
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** Runs the smoke test; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "scaffold queue smoke " });
  const started = Date.now();
  try {
    const programs = await programsFromArgs(args);
    const version = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))).version;
    await checkHelpAndVersion(programs, dir, version);
    const embeddedDir = `${dir}/embedded`;
    await Deno.mkdir(embeddedDir);
    const rows = await statusRows(programs, embeddedDir);
    if (rows.length === 0) fail("queue-status -all -json on the embedded default lists no queues.");
    await drain(programs, dir, "worker");
    await drain(programs, dir, "queue-cmd -start");
    console.log(
      `smoke test passed in ${((Date.now() - started) / 1000).toFixed(1)} s: help, -version ` +
        `${version}, embedded default, ${JOBS} jobs pushed and drained by worker and by ` +
        `queue-cmd -start, 0 ready, -stop.`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof SmokeFailure)) throw error;
    console.error(`smoke test failed: ${error.message}`);
    return 1;
  } finally {
    await removeDir(dir);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
