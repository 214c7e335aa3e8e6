/**
 * End-to-end: `queue-cmd -start` on SQLite with two queues of 2 processes,
 * jobs pushed from another process, `queue-status -all -json`, a SIGKILLed
 * worker restarted, `-stop`, and a blocking handler killed past its timeout.
 */

import assert from "node:assert/strict";
import { sleep, waitUntil } from "../_services.ts";
import { alive, countFiles, killPid, pushJobs, run, Running, tempSetup } from "./_cli.ts";

const TWO_QUEUES = `
queue:
  driver: sqlite
  worker: { sleep: 1 }
  queues:
    high: { priority: 2, processes: 2, timeout: 10, retry_after: 30 }
    default: { priority: 1, processes: 2, timeout: 10, retry_after: 30 }
sqlite: { path: "$DIR/queue.db" }
jobs: ["$ROOT/tests/fixtures/cli_jobs.ts"]
`;

Deno.test("queue-cmd -start runs 2 processes per queue, restarts a killed worker, -stop ends it", async () => {
  const setup = await tempSetup(TWO_QUEUES);
  const service = new Running("queue-cmd", ["-start", `-config=${setup.config}`]);
  try {
    await service.waitFor(/queue service started: 4 worker processes/);
    assert.equal(service.workerPids().length, 4);
    await Promise.all([
      pushJobs(setup.config, "touch", "high", 10, setup.out),
      pushJobs(setup.config, "touch", "default", 10, setup.out),
    ]);
    await waitUntil(async () => (await countFiles(setup.out)) === 20, 20_000, "20 jobs done");

    const status = await run("queue-status", ["-all", "-json", `-config=${setup.config}`]);
    assert.equal(status.code, 0, status.stderr);
    const rows = JSON.parse(status.stdout).queues as Record<string, unknown>[];
    for (const queue of ["high", "default"]) {
      const row = rows.find((r) => r.queue === queue)!;
      assert.deepEqual(
        [row.ready, row.delayed, row.reserved, row.failed, row.driver],
        [0, 0, 0, 0, "sqlite"],
      );
    }
    assert.deepEqual(rows.map((r) => r.queue).slice(0, 2), ["high", "default"]);

    const victim = service.workerPids()[0];
    killPid(victim);
    await service.waitFor(
      new RegExp(`worker pid ${victim} for \\w+ exited \\(killed by SIGKILL\\)`),
    );
    await waitUntil(() => service.workerPids().length === 5, 15_000, "a replacement worker");
    const more = `${setup.dir}/more`;
    await Deno.mkdir(more);
    await pushJobs(setup.config, "touch", "high", 4, more);
    await waitUntil(async () => (await countFiles(more)) === 4, 20_000, "4 more jobs done");

    const stop = await run("queue-cmd", ["-stop", `-config=${setup.config}`]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, /Stop broadcast sent/);
    const stoppedAt = Date.now();
    const exit = await service.exit(10_000);
    assert.equal(exit.code, 0);
    assert.ok(Date.now() - stoppedAt < 2000, "the service ends within 2 s of -stop returning");
    for (const pid of service.workerPids()) assert.equal(alive(pid), false, `worker ${pid} exited`);
  } finally {
    service.kill();
    await setup.cleanup();
  }
});

const BLOCKING = `
queue:
  driver: sqlite
  worker: { sleep: 1 }
  queues:
    block: { priority: 1, processes: 1, timeout: 1, tries: 1, retry_after: 60 }
sqlite: { path: "$DIR/queue.db" }
jobs: ["$ROOT/tests/fixtures/cli_jobs.ts"]
`;

Deno.test("a handler blocking the event loop past its timeout gets its worker killed and replaced", async () => {
  const setup = await tempSetup(BLOCKING);
  const service = new Running("queue-cmd", ["-start", `-config=${setup.config}`]);
  try {
    await service.waitFor(/queue service started: 1 worker processes/);
    const [first] = service.workerPids();
    await pushJobs(setup.config, "block", "block", 1, setup.out);
    await waitUntil(
      async () => (await countFiles(setup.out, "blocked-")) === 1,
      15_000,
      "job blocking",
    );
    await service.waitFor(/ran past its timeout of 1 s plus 5 s; killing the worker/, 15_000);
    await service.waitFor(new RegExp(`worker pid ${first} for block exited \\(killed: timeout\\)`));
    await waitUntil(() => service.workerPids().length === 2, 15_000, "a replacement worker");
    assert.equal(alive(first), false);
    Deno.kill(service.child.pid, "SIGTERM");
    assert.equal((await service.exit(10_000)).code, 0);
    await sleep(100);
    assert.equal(alive(service.workerPids()[1]), false);
  } finally {
    service.kill();
    await setup.cleanup();
  }
});

const RESTARTS = `
queue:
  driver: sqlite
  worker: { sleep: 1, max_jobs: 2 }
  queues:
    default: { priority: 1, processes: 1, timeout: 10, retry_after: 30 }
    broken: { priority: 0, processes: 1, timeout: 10, retry_after: 30 }
sqlite: { path: "$DIR/queue.db" }
jobs: ["$ROOT/tests/fixtures/cli_jobs.ts", "$ROOT/tests/fixtures/crash_jobs.ts"]
`;

Deno.test("the service restarts a worker at max_jobs at once, and a crash-looping worker with back-off", async () => {
  const setup = await tempSetup(RESTARTS);
  // The worker for "broken" cannot load crash_jobs.ts: it exits 1 at once, again and again.
  const service = new Running("queue-cmd", ["-start", `-config=${setup.config}`]);
  try {
    await service.waitFor(/queue service started: 2 worker processes/);
    await pushJobs(setup.config, "touch", "default", 5, setup.out);
    await waitUntil(async () => (await countFiles(setup.out)) === 5, 20_000, "5 jobs done");
    await service.waitFor(/for default exited \(max_jobs, code 0\); restarting in 0 ms/);
    await service.waitFor(/for broken exited \(code 1\); restarting in 1000 ms/);
    await service.waitFor(/for broken exited \(code 1\); restarting in 2000 ms/);
    Deno.kill(service.child.pid, "SIGINT");
    assert.equal((await service.exit(10_000)).code, 0);
  } finally {
    service.kill();
    await setup.cleanup();
  }
});

Deno.test("workers drain and exit when the queue service itself is SIGKILLed", async () => {
  const setup = await tempSetup(RESTARTS.replace(/^ {4}broken:.*$/m, ""));
  const service = new Running("queue-cmd", ["-start", `-config=${setup.config}`]);
  try {
    await service.waitFor(/queue service started: 1 worker processes/);
    await service.waitFor(/serving default/);
    const [pid] = service.workerPids();
    service.child.kill("SIGKILL");
    await service.exit(5000);
    await waitUntil(() => !alive(pid), 10_000, "the orphaned worker to exit");
  } finally {
    service.kill();
    await setup.cleanup();
  }
});
