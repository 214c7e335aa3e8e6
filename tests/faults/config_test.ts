/**
 * Scenario 12 and the security notes: config errors (a missing file, bad YAML,
 * an unknown key, a wrong type, an unreachable host) end `queue-cmd -start` with
 * one sentence naming the file, key or host, a non-zero exit and nothing
 * started; passwords never appear in errors, logs, `-list` or `queue-status`;
 * queue names are refused before they reach a key or a statement.
 */

import assert from "node:assert/strict";
import { freePort, waitUntil } from "../_services.ts";
import { run, Running } from "../cli/_cli.ts";
import { Manager } from "../../src/manager.ts";
import { loadConfig } from "../../src/config.ts";
import { LedgerJob } from "../fixtures/faults_jobs.ts";
import { storeUp } from "./_stores.ts";

const options = { sanitizeOps: false, sanitizeResources: false };
const SECRET = "s3cr3t-Pa55w0rd-XYZ";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "queue_faults_config_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `queue-cmd -start` on a config text; checks the one-sentence failure. */
async function startFails(dir: string, yaml: string | null, expect: RegExp): Promise<string> {
  const path = `${dir}/config.yaml`;
  if (yaml !== null) await Deno.writeTextFile(path, yaml.replaceAll("$DIR", dir));
  const result = await run("queue-cmd", ["-start", `-config=${path}`]);
  assert.notEqual(result.code, 0, "non-zero exit");
  const lines = result.stderr.trim().split("\n").filter((line) => line.trim());
  assert.equal(lines.length, 1, `one sentence, got:\n${result.stderr}`);
  assert.match(lines[0], expect);
  assert.doesNotMatch(result.stderr + result.stdout, /started worker|service started/);
  assert.equal(
    await Deno.stat(`${dir}/queue.db`).then(() => true, () => false),
    false,
    "no store was created half-way",
  );
  return lines[0];
}

Deno.test("faults config: a missing file names the file", async () => {
  await withDir(async (dir) => {
    await startFails(dir, null, /config\.yaml.*does not exist/);
  });
});

Deno.test("faults config: bad YAML names the file", async () => {
  await withDir(async (dir) => {
    await startFails(
      dir,
      "queue:\n  driver: sqlite\n   worker: [unclosed\n",
      /config\.yaml.*YAML is not valid/,
    );
  });
});

Deno.test("faults config: an unknown key names the key and suggests the known one", async () => {
  await withDir(async (dir) => {
    await startFails(
      dir,
      'queue:\n  driver: sqlite\n  worker: { slep: 3 }\nsqlite: { path: "$DIR/queue.db" }\n',
      /config\.yaml: queue\.worker\.slep is not a known key \(did you mean "sleep"\?\)/,
    );
  });
});

Deno.test("faults config: a wrong type names the key and the value", async () => {
  await withDir(async (dir) => {
    await startFails(
      dir,
      'queue:\n  driver: sqlite\n  worker: { max_jobs: "many" }\nsqlite: { path: "$DIR/queue.db" }\n',
      /config\.yaml: queue\.worker\.max_jobs must be a whole number .*"many"/,
    );
  });
});

Deno.test("faults config: an unreachable host names host and port, never the password", async () => {
  await withDir(async (dir) => {
    const port = freePort();
    for (
      const block of [
        `queue: { driver: redis }\nredis: { host: 127.0.0.1, port: ${port}, password: "${SECRET}" }\n`,
        `queue: { driver: database }\nmysql: { host: 127.0.0.1, port: ${port}, password: "${SECRET}", connect_timeout: 2s }\n`,
      ]
    ) {
      const line = await startFails(dir, block, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.ok(!line.includes(SECRET), line);
    }
  });
});

const redisServer = await new Deno.Command("redis-server", { args: ["--version"] }).output().then(
  () => true,
  () => false,
);

Deno.test({
  name:
    "faults security: a Redis password never appears in logs, errors, -list or queue-status output",
  ignore: !redisServer,
  ...options,
  fn: async () => {
    await withDir(async (dir) => {
      const port = freePort();
      const server = new Deno.Command("redis-server", {
        args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir]
          .concat(["--requirepass", SECRET]),
        stdout: "null",
        stderr: "null",
      }).spawn();
      const config = `${dir}/config.yaml`;
      const root = new URL("../../", import.meta.url).pathname;
      const yaml = (password: string) =>
        `queue:\n  driver: redis\n  worker: { sleep: 0.2 }\n  queues:\n    sec: { processes: 1 }\n` +
        `redis: { host: 127.0.0.1, port: ${port}, password: "${password}" }\n` +
        `jobs: ["${root}tests/fixtures/faults_jobs.ts"]\n`;
      let service: Running | undefined;
      try {
        await Deno.writeTextFile(config, yaml(SECRET));
        const manager = new Manager(await loadConfig(config));
        await waitUntil(() => manager.connect().then(() => true, () => false), 10_000, "redis");
        await manager.push(
          Object.assign(new LedgerJob({ queue: "sec" }), { ledger: `${dir}/l`, n: 1 }),
        );
        service = new Running("queue-cmd", ["-start", `-config=${config}`, "-debug", "-v"]);
        await service.waitFor(/job .* done/);
        const outputs = [
          await run("queue-cmd", ["-list", `-config=${config}`]),
          await run("queue-status", ["-all", `-config=${config}`]),
          await run("queue-status", ["-all", "-json", `-config=${config}`]),
          await run("queue-status", ["-queue=sec", `-config=${config}`]),
        ];
        for (const output of outputs) assert.equal(output.code, 0, output.stderr);
        Deno.kill(service.child.pid, "SIGTERM");
        await service.exit(15_000);
        await manager.close();
        await Deno.writeTextFile(config, yaml(`${SECRET}-wrong`));
        const refused = await run("queue-status", ["-all", `-config=${config}`]);
        assert.notEqual(refused.code, 0);
        assert.match(refused.stderr, new RegExp(`127\\.0\\.0\\.1:${port}`));
        const text = [service.log, service.out, refused.stderr, refused.stdout]
          .concat(outputs.flatMap((o) => [o.stdout, o.stderr])).join("\n");
        assert.ok(text.includes("sec"), "the outputs were captured");
        assert.ok(!text.includes(SECRET), "the password appears nowhere");
      } finally {
        service?.kill();
        server.kill("SIGKILL");
        await server.status;
      }
    });
  },
});

Deno.test("faults security: queue names are refused before they reach a key or a statement", async () => {
  const manager = new Manager({ driver: "memory" });
  for (const bad of ["a b", "x'; DROP TABLE jobs; --", "{q}", "a".repeat(65), "", "ü"]) {
    // An empty queue on a job means the default queue; elsewhere it is refused.
    await assert.rejects(
      () => manager.push(Object.assign(new LedgerJob({ queue: bad || " " }), { n: 1 })),
      /Queue name .* is invalid/,
    );
    await assert.rejects(() => manager.pushRaw(bad, "{}"), /Queue name .* is invalid/);
    await assert.rejects(() => manager.clear(bad), /Queue name .* is invalid/);
  }
  await manager.close();
  const cleared = await run("queue-cmd", ["-clear", "-queue=x;rm -rf /", "-config=/nonexistent"]);
  assert.notEqual(cleared.code, 0);
  assert.equal(cleared.stderr.trim().split("\n").length, 1, cleared.stderr);
});

Deno.test("faults security: payload decoding is immune to prototype pollution", async () => {
  const { decodePayload } = await import("../../src/wire.ts");
  for (
    const text of [
      '{"v":1,"type":"LedgerJob","data":{"__proto__":{"polluted":true}}}',
      '{"v":1,"type":"LedgerJob","data":{"constructor":{"prototype":{"polluted":true}}}}',
      '{"__proto__":{"polluted":true},"v":1,"raw":"x"}',
    ]
  ) {
    assert.throws(() => decodePayload(text, { id: "p", queue: "q" }), /forbidden key/);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

if (!storeUp("redis")) {
  console.warn("faults config: shared Redis down; its store tests elsewhere skip");
}
