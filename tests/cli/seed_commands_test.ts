/**
 * Every command line of the seed's 命令行工具, 生产环境部署 and 本地开发环境运行
 * sections, run as written (`./queue-cmd.exe` read as the cli/ entry point)
 * in a temporary working directory whose configs/ hold SQLite configs, plus a
 * MariaDB database for `-driver=database`.
 */

import assert from "node:assert/strict";
import { serviceUp, sleep } from "../_services.ts";
import { ROOT, run, Running } from "./_cli.ts";

const DB = `queue_cli_seed_${Deno.pid}`;

function mysql(sql: string): Promise<Deno.CommandOutput> {
  return new Deno.Command("mysql", {
    args: ["-uroot", "-h127.0.0.1", "-P3306", "-e", sql],
    stdout: "null",
    stderr: "piped",
  }).output();
}

const mysqlUp = await serviceUp("MariaDB at 127.0.0.1:3306 (mysql client)", async () => {
  const out = await mysql("SELECT 1");
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr).trim());
});

function config(db: string, queues: string): string {
  return `
queue:
  driver: sqlite
  worker: { sleep: 1 }
  queues:
${queues}
sqlite: { path: "./storage/${db}.db" }
mysql: { host: "127.0.0.1", port: 3306, username: "root", password: "\${MYSQL_PASSWORD:-}", database: "${DB}" }
`;
}

const SEED_QUEUES = `
    default: { priority: 1, processes: 1, timeout: 60, tries: 3, retry_after: 60, backoff: [60, 300, 900] }
    high: { priority: 2, processes: 1, timeout: 30, tries: 5, retry_after: 30, backoff: [30, 60, 180] }
    low: { priority: 0, processes: 1, timeout: 120, tries: 2, retry_after: 120, backoff: [120, 300, 600] }`;
const DEV_QUEUES = `
    default: { priority: 1, processes: 1, timeout: 30, tries: 3, retry_after: 60, backoff: [30, 60, 120] }`;

async function workdir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "queue_cli_seed_" });
  await Deno.mkdir(`${dir}/configs`);
  await Deno.mkdir(`${dir}/storage`);
  await Deno.writeTextFile(`${dir}/configs/config.yaml`, config("queue", SEED_QUEUES));
  await Deno.writeTextFile(`${dir}/configs/production.yaml`, config("production", SEED_QUEUES));
  await Deno.writeTextFile(`${dir}/configs/debug.yaml`, config("debug", SEED_QUEUES));
  await Deno.writeTextFile(`${dir}/configs/config.dev.yaml`, config("dev", DEV_QUEUES));
  return dir;
}

/** Runs a seed command line ("./queue-cmd.exe -list") in `cwd`. */
function seed(line: string, cwd: string) {
  const [exe, ...args] = line.split(" ");
  const program = exe.replace(/^\.[\\/]/, "").replace(/\.exe$/, "");
  return run(program, args, { cwd });
}

/** Starts a long-running seed command line and stops it with `stopLine`. */
async function startThenStop(
  line: string,
  stopLine: string,
  cwd: string,
  expect: RegExp,
): Promise<void> {
  const [exe, ...args] = line.split(" ");
  const service = new Running(exe.replace(/^\.[\\/]/, "").replace(/\.exe$/, ""), args, cwd);
  try {
    await service.waitFor(expect, 30_000);
    const stop = await seed(stopLine, cwd);
    assert.equal(stop.code, 0, `${stopLine}: ${stop.stderr}`);
    assert.match(stop.stdout, /Stop broadcast sent/);
    assert.equal((await service.exit(15_000)).code, 0, `${line} exits 0 after ${stopLine}`);
  } finally {
    service.kill();
  }
}

Deno.test("seed 命令行工具 and 生产环境部署: every queue-cmd and queue-status line", async () => {
  const cwd = await workdir();
  try {
    const help = await seed("./queue-cmd.exe", cwd);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: queue-cmd/);
    await startThenStop(
      "./queue-cmd.exe -start",
      "./queue-cmd.exe -stop",
      cwd,
      /queue service started: 3 worker/,
    );
    const list = await seed("./queue-cmd.exe -list", cwd);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /high\s+2\s+1[\s\S]*default\s+1\s+1[\s\S]*low\s+0\s+1/);
    const clear = await seed("./queue-cmd.exe -clear -queue=default", cwd);
    assert.equal(clear.stdout.trim(), 'Cleared 0 jobs from queue "default".');
    await startThenStop(
      "./queue-cmd.exe -config=configs/production.yaml -start",
      "./queue-cmd.exe -stop -config=configs/production.yaml",
      cwd,
      /config configs\/production\.yaml/,
    );
    for (const line of ["./queue-status.exe -all", "./queue-status.exe -queue=default"]) {
      const result = await seed(line, cwd);
      assert.equal(result.code, 0, `${line}: ${result.stderr}`);
      assert.match(result.stdout, /default/);
    }
    const statusHelp = await seed("./queue-status.exe", cwd);
    assert.equal(statusHelp.code, 0);
    assert.match(statusHelp.stdout, /Usage: queue-status/);
    // 直接运行工作进程, then 常用维护命令: stop and start again.
    await startThenStop("./worker.exe", "./queue-cmd.exe -stop", cwd, /serving high, default, low/);
    await startThenStop(
      "./queue-cmd.exe -start",
      "./queue-cmd.exe -stop",
      cwd,
      /queue service started/,
    );
    // 调试技巧
    const problem = await seed("./queue-cmd.exe -clear -queue=problematic_queue", cwd);
    assert.equal(problem.code, 0, problem.stderr);
    await startThenStop(
      "./queue-cmd.exe -start -config=configs/debug.yaml",
      "./queue-cmd.exe -stop -config=configs/debug.yaml",
      cwd,
      /queue service started/,
    );
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test({
  name: "seed: queue-status -queue=high -driver=database reads MariaDB from the same config",
  ignore: !mysqlUp,
  fn: async () => {
    const cwd = await workdir();
    assert.ok((await mysql(`CREATE DATABASE IF NOT EXISTS ${DB}`)).success);
    try {
      const result = await seed("./queue-status.exe -queue=high -driver=database", cwd);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /Queue:\s+high/);
      assert.match(result.stdout, /Driver:\s+database \(.*127\.0\.0\.1:3306/);
    } finally {
      await mysql(`DROP DATABASE IF EXISTS ${DB}`);
      await Deno.remove(cwd, { recursive: true });
    }
  },
});

Deno.test("seed 本地开发环境运行: -start -config=configs/config.dev.yaml with -debug, -v and -watch", async () => {
  const cwd = await workdir();
  try {
    for (const flag of ["-debug", "-v"]) {
      await startThenStop(
        `./queue-cmd -start -config=configs/config.dev.yaml ${flag}`,
        "./queue-cmd -stop -config=configs/config.dev.yaml",
        cwd,
        flag === "-debug" ? /DEBUG/ : /serving default/,
      );
    }
    const watched = new Running("queue-cmd", [
      "-start",
      "-config=configs/config.dev.yaml",
      "-watch",
    ], cwd);
    try {
      await watched.waitFor(/queue service started: 1 worker/);
      await sleep(300);
      const path = `${cwd}/configs/config.dev.yaml`;
      await Deno.writeTextFile(path, "queue: [ this is not valid\n");
      await watched.waitFor(/has errors; the running workers keep going/);
      assert.equal(watched.workerPids().length, 1);
      await Deno.writeTextFile(
        path,
        config("dev", DEV_QUEUES.replace("processes: 1", "processes: 2")),
      );
      await watched.waitFor(/workers restarted with the new config/);
      assert.equal(watched.workerPids().length, 3, "1 drained, 2 started");
      const stop = await seed("./queue-cmd -stop -config=configs/config.dev.yaml", cwd);
      assert.equal(stop.code, 0);
      assert.equal((await watched.exit(15_000)).code, 0);
    } finally {
      watched.kill();
    }
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("seed: deno task queue-cmd -- -list -config=... works as ./queue-cmd does", async () => {
  const cwd = await workdir();
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["task", "queue-cmd", "--", "-list", `-config=${cwd}/configs/config.yaml`],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.match(stdout, /default\s+1\s+1/);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
