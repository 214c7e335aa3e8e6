/**
 * The README's "Enqueueing from another language" recipes, run by real
 * programs of other languages: Python's sqlite3, redis-cli and the mariadb
 * client write jobs with the README's exact statements; a Worker runs them.
 */
import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { BaseJob, JobRegistry, Manager, resolveConfig, Worker } from "../mod.ts";
import { serviceUp } from "./_services.ts";

const README = await Deno.readTextFile(new URL("../README.md", import.meta.url));
const section = README.slice(README.indexOf("### Enqueueing from another language"));

/** The SQL statement of the README block that follows `-- <label>`. */
function readmeInsert(label: string): string {
  const start = section.indexOf(`-- ${label}`);
  const from = section.indexOf("INSERT", start);
  return section.slice(from, section.indexOf(";", from) + 1);
}

class GreetJob extends BaseJob {
  static seen: string[] = [];
  name = "";
  handle(): void {
    GreetJob.seen.push(this.name);
  }
}

function payload(name: string): string {
  return JSON.stringify({
    v: 1,
    id: crypto.randomUUID(),
    queue: "default",
    type: "GreetJob",
    data: { name },
    maxAttempts: null,
    timeoutMs: null,
    retryAfterMs: null,
    backoffMs: null,
    createdAt: Date.now(),
  });
}

/** Runs a worker on `config` until `count` GreetJobs are done; returns their names. */
async function drain(raw: Record<string, unknown>, count: number): Promise<string[]> {
  const registry = new JobRegistry();
  registry.register(GreetJob);
  GreetJob.seen = [];
  const config = resolveConfig(
    { ...raw, queue: { ...raw.queue as object, worker: { memory: 0 } } },
    "interop",
  );
  const manager = new Manager(config, { registry });
  const worker = new Worker(manager, ["default"], {
    maxJobs: count,
    sleep: 200,
    heartbeatMs: 0,
    maxTime: 20_000,
  });
  await worker.start();
  await manager.close();
  return GreetJob.seen.sort();
}

async function run(command: string, args: string[], stdin?: string): Promise<void> {
  const child = new Deno.Command(command, {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const { code, stderr } = await child.output();
  assert.equal(code, 0, `${command} failed: ${new TextDecoder().decode(stderr)}`);
}

const hasPython = await run("python3", ["-c", "import sqlite3"]).then(() => true, () => false);

Deno.test({
  name: "Python's sqlite3 enqueues with the README's SQLite INSERT; a worker runs the jobs",
  ignore: !hasPython,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/queue.db`;
    const config = { queue: { driver: "sqlite" }, sqlite: { path } };
    // The tables exist once a worker has run (or queue-cmd -migrate).
    const setup = new Manager(resolveConfig(config, "interop"));
    await setup.connect();
    await setup.close();
    const script = `
import sqlite3, sys, json
db = sqlite3.connect(sys.argv[1], timeout=5)
sql = sys.stdin.read()
for name, body in json.loads(sys.argv[2]):
    db.execute(sql, (json.loads(body)["id"], "default", body, 0))
db.commit()
`;
    const bodies = JSON.stringify([["ada", payload("ada")], ["grace", payload("grace")]]);
    await run("python3", ["-c", script, path, bodies], readmeInsert("SQLite"));
    assert.deepEqual(await drain(config, 2), ["ada", "grace"]);
    await Deno.remove(dir, { recursive: true });
  },
});

const redisUp = await serviceUp(
  "Redis at 127.0.0.1:6379 (interop)",
  () => run("redis-cli", ["-n", "8", "PING"]),
);

Deno.test({
  name: "redis-cli enqueues with the README's single RPUSH; a worker runs the job",
  ignore: !redisUp,
  fn: async () => {
    const prefix = `interop${Date.now()}`;
    await run("redis-cli", ["-n", "8", "RPUSH", `${prefix}:{default}:ready`, payload("linus")]);
    const names = await drain({
      queue: { driver: "redis" },
      redis: { host: "127.0.0.1", db: 8, prefix },
    }, 1);
    assert.deepEqual(names, ["linus"]);
    await run("sh", [
      "-c",
      `redis-cli -n 8 --scan --pattern '${prefix}:*' | xargs -r redis-cli -n 8 DEL`,
    ]);
  },
});

const mysqlUp = await serviceUp("MariaDB at 127.0.0.1:3306 (interop)", async () => {
  const conn = await mysql.createConnection({ host: "127.0.0.1", user: "root" });
  await conn.end();
});

Deno.test({
  name: "the mariadb client enqueues with the README's MySQL INSERT; a worker runs the job",
  ignore: !mysqlUp,
  fn: async () => {
    const database = `queue_interop_${Date.now()}`;
    const admin = await mysql.createConnection({ host: "127.0.0.1", user: "root" });
    await admin.query(`CREATE DATABASE ${database}`);
    try {
      const config = {
        queue: { driver: "database" },
        mysql: { host: "127.0.0.1", username: "root", password: "", database },
      };
      const setup = new Manager(resolveConfig(config, "interop"));
      await setup.connect();
      await setup.close();
      const body = payload("margaret");
      const quote = (text: string) => `'${text.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
      const values = [quote(JSON.parse(body).id), quote("default"), quote(body), "0"];
      let index = 0;
      const sql = readmeInsert("MySQL / MariaDB").replace(/\?/g, () => values[index++]);
      await run("mariadb", ["-h", "127.0.0.1", "-u", "root", database], sql);
      assert.deepEqual(await drain(config, 1), ["margaret"]);
    } finally {
      await admin.query(`DROP DATABASE ${database}`);
      await admin.end();
    }
  },
});
