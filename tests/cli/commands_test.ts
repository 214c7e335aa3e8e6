/**
 * End-to-end: the one-shot commands of the executables on SQLite (help,
 * usage errors, -list, -clear, failed jobs, -migrate, queue-status), and an
 * unreachable Redis.
 */

import assert from "node:assert/strict";
import { freePort } from "../_services.ts";
import { pushJobs, run, SQLITE_TWO_QUEUES, tempSetup } from "./_cli.ts";

function oneLine(text: string): string {
  const lines = text.trim().split("\n");
  assert.equal(lines.length, 1, `one line, got:\n${text}`);
  return lines[0];
}

Deno.test("no flag prints help (exit 0); the worker runs instead", async () => {
  for (const program of ["queue-cmd", "queue-status"]) {
    const result = await run(program, []);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^${program} \\d+\\.\\d+\\.\\d+: `));
    assert.match(result.stdout, /-config=PATH/);
  }
  const help = await run("worker", ["-h"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /-queue=a,b/);
});

Deno.test("bad flags exit 2 with one sentence naming the flag", async () => {
  const cases: [string, string[], RegExp][] = [
    [
      "queue-cmd",
      ["-bogus"],
      /^queue-cmd: Unknown flag -bogus; run with -help to see the flags\.$/,
    ],
    ["queue-cmd", ["-clear"], /^queue-cmd: Flag -clear needs -queue=NAME/],
    [
      "queue-cmd",
      ["-start", "-stop"],
      /^queue-cmd: Flags -start and -stop cannot be used together\.$/,
    ],
    ["queue-cmd", ["-queue"], /^queue-cmd: Flag -queue needs a value\.$/],
    ["queue-status", ["-driver=oracle"], /^queue-status: Flag -driver must be one of/],
    [
      "queue-status",
      ["-json"],
      /^queue-status: Give -all, -queue=NAME, -driver=NAME, -workers, -metrics, -check or -serve;/,
    ],
    ["worker", ["-concurrency=many"], /^worker: Flag -concurrency needs a non-negative number/],
    ["worker", ["-queue=bad name!"], /^worker: Flag -queue: Queue name "bad name!" is invalid/],
  ];
  for (const [program, args, pattern] of cases) {
    const result = await run(program, args);
    assert.equal(result.code, 2, `${program} ${args.join(" ")}: ${result.stderr}`);
    assert.match(oneLine(result.stderr), pattern);
  }
});

Deno.test("an unreachable Redis exits 1 naming host:port, without the password", async () => {
  const port = freePort();
  const setup = await tempSetup(`
queue: { driver: redis }
redis: { host: "127.0.0.1", port: ${port}, password: "s3cret-pw", db: 13 }
`);
  try {
    for (
      const [program, args] of [["queue-status", ["-all"]], ["queue-cmd", ["-list"]], [
        "queue-cmd",
        ["-start"],
      ], ["worker", []]] as const
    ) {
      const result = await run(program, [...args, `-config=${setup.config}`]);
      assert.equal(result.code, 1, `${program}: ${result.stderr}`);
      const line = oneLine(result.stderr);
      assert.match(line, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.match(line, /redis/i);
      assert.ok(!line.includes("s3cret-pw"), "no password");
    }
  } finally {
    await setup.cleanup();
  }
});

Deno.test("a config with errors exits 1 naming the file and key", async () => {
  const setup = await tempSetup(`queue: { driver: redis, wroker: {} }\n`);
  try {
    const result = await run("queue-cmd", ["-list", `-config=${setup.config}`]);
    assert.equal(result.code, 1);
    assert.match(oneLine(result.stderr), /config\.yaml.*wroker/);
    const missing = await run("queue-status", ["-all", "-config=/nonexistent/x.yaml"]);
    assert.equal(missing.code, 1);
    assert.match(oneLine(missing.stderr), /\/nonexistent\/x\.yaml/);
  } finally {
    await setup.cleanup();
  }
});

Deno.test("-list, -clear, queue-status -queue and -json on SQLite", async () => {
  const setup = await tempSetup(SQLITE_TWO_QUEUES);
  const config = `-config=${setup.config}`;
  try {
    assert.equal((await run("queue-cmd", ["-migrate", config])).code, 0);
    await pushJobs(setup.config, "touch", "default", 3, setup.out);
    const list = await run("queue-cmd", ["-list", config]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /high\s+2\s+1\s+10s\s+3\s+30s\s+0/);
    assert.match(list.stdout, /default\s+1\s+1\s+10s\s+3\s+30s\s+3/);

    const one = await run("queue-status", ["-queue=default", "-json", config]);
    assert.equal(one.code, 0, one.stderr);
    const detail = JSON.parse(one.stdout);
    assert.equal(detail.ready, 3);
    assert.equal(detail.size, 3);
    const text = await run("queue-status", ["-queue=default", config]);
    assert.match(text.stdout, /Ready:\s+3/);

    const clear = await run("queue-cmd", ["-clear", "-queue=default", config]);
    assert.equal(clear.code, 0, clear.stderr);
    assert.equal(clear.stdout.trim(), 'Cleared 3 jobs from queue "default".');
    const again = await run("queue-cmd", ["--clear", "--queue", "default", config]);
    assert.equal(again.stdout.trim(), 'Cleared 0 jobs from queue "default".');
  } finally {
    await setup.cleanup();
  }
});

Deno.test("-failed, -retry, -forget and -flush manage the failed store", async () => {
  const setup = await tempSetup(
    SQLITE_TWO_QUEUES.replace("jobs: [", "jobs_unused: [").replace(/^jobs_unused.*$/m, ""),
  );
  const config = `-config=${setup.config}`;
  try {
    await pushJobs(setup.config, "raw", "default", 2, setup.out);
    // No handler for raw payloads of "default": both go to the failed store.
    const worker = await run("worker", ["-queue=default", "-max-jobs=2", config]);
    assert.equal(worker.code, 0, worker.stderr);
    const failed = await run("queue-cmd", ["-failed", config]);
    assert.equal(failed.code, 0, failed.stderr);
    const ids = [...failed.stdout.matchAll(/^([0-9a-f-]{36})\s+default/gm)].map((m) => m[1]);
    assert.equal(ids.length, 2, failed.stdout);

    const retry = await run("queue-cmd", [`-retry=${ids[0]}`, config]);
    assert.equal(retry.stdout.trim(), "Put 1 failed job back on its queue.");
    const forget = await run("queue-cmd", [`-forget=${ids[1]}`, config]);
    assert.equal(forget.stdout.trim(), `Deleted failed job ${ids[1]}.`);
    const unknown = await run("queue-cmd", ["-forget=nope", config]);
    assert.equal(unknown.code, 1);
    assert.equal(oneLine(unknown.stderr), "queue-cmd: No failed job has the id nope.");
    const flush = await run("queue-cmd", ["-flush", config]);
    assert.equal(flush.stdout.trim(), "Deleted 0 failed jobs.");

    const status = await run("queue-status", ["-all", "-json", config]);
    const row = JSON.parse(status.stdout).queues.find((r: { queue: string }) =>
      r.queue === "default"
    );
    assert.equal(row.ready, 1);
    assert.equal(row.failed, 0);
  } finally {
    await setup.cleanup();
  }
});
