import assert from "node:assert/strict";
import {
  BaseJob,
  type JobContext,
  JobRegistry,
  Manager,
  MemoryDriver,
  resolveConfig,
  UnrecoverableError,
  Worker,
  type WorkerEvent,
  type WorkerOptions,
} from "../../mod.ts";
import { sleep } from "../_services.ts";

/** A manager on a fresh memory store with its own registry. */
function setup(): { manager: Manager; driver: MemoryDriver; registry: JobRegistry } {
  const driver = new MemoryDriver();
  const registry = new JobRegistry();
  // The test process itself is larger than the seed's 128 MB default, so no memory limit here.
  const config = resolveConfig(
    { queue: { driver: "memory", worker: { memory: 0 } } },
    "worker test",
  );
  const manager = new Manager(config, { driver, registry });
  return { manager, driver, registry };
}

/** Runs a worker until `until()` holds, then stops it; returns its events. */
async function work(
  manager: Manager,
  queues: string[],
  options: WorkerOptions,
  until: (events: WorkerEvent[]) => boolean,
): Promise<WorkerEvent[]> {
  const events: WorkerEvent[] = [];
  const worker = new Worker(manager, queues, {
    sleep: 50,
    heartbeatMs: 0,
    ...options,
    onEvent: (e) => events.push(e),
  });
  const done = worker.start();
  const deadline = Date.now() + 5000;
  while (!until(events) && Date.now() < deadline) await sleep(5);
  await worker.stop();
  await done;
  return events;
}

const ledger: string[] = [];

class FlakyJob extends BaseJob {
  failUntil = 0;
  handle(context: JobContext): void {
    ledger.push(`flaky attempt ${context.attempt}`);
    if (context.attempt <= this.failUntil) throw new Error(`flaky failure ${context.attempt}`);
  }
}

class FailingJob extends BaseJob {
  static hookCalls: string[] = [];
  handle(): void {
    throw new Error("always fails");
  }
  failed(error: Error): void {
    FailingJob.hookCalls.push(error.message);
  }
}

class SlowJob extends BaseJob {
  ms = 0;
  label = "";
  async handle(): Promise<void> {
    ledger.push(`start ${this.label}`);
    await sleep(this.ms);
    ledger.push(`end ${this.label}`);
  }
}

class WaitsForAbortJob extends BaseJob {
  static aborted = false;
  handle(context: JobContext): Promise<void> {
    return new Promise((_, reject) => {
      context.signal.addEventListener("abort", () => {
        WaitsForAbortJob.aborted = true;
        reject(context.signal.reason);
      });
    });
  }
}

class UnrecoverableJob extends BaseJob {
  handle(): void {
    throw new UnrecoverableError("card declined");
  }
}

Deno.test("a failing job is retried with the backoff of each attempt, then succeeds", async () => {
  const { manager, registry } = setup();
  registry.register(FlakyJob);
  await manager.push(
    Object.assign(new FlakyJob({ maxAttempts: 3, backoff: [100, 200] }), { failUntil: 2 }),
  );
  const events = await work(manager, ["default"], {}, (e) => e.some((x) => x.type === "done"));
  const retries = events.filter((e) => e.type === "retrying");
  assert.deepEqual(retries.map((e) => [e.attempt, e.retryInMs]), [[1, 100], [2, 200]]);
  const done = events.find((e) => e.type === "done")!;
  assert.equal(done.attempt, 3);
  assert.equal(await manager.size("default"), 0);
});

Deno.test("the last backoff value repeats for later attempts", async () => {
  const { manager, registry } = setup();
  registry.register(FlakyJob);
  await manager.push(
    Object.assign(new FlakyJob({ maxAttempts: 4, backoff: [10, 30] }), { failUntil: 3 }),
  );
  const events = await work(manager, ["default"], {}, (e) => e.some((x) => x.type === "done"));
  assert.deepEqual(events.filter((e) => e.type === "retrying").map((e) => e.retryInMs), [
    10,
    30,
    30,
  ]);
});

Deno.test("after the last try the job goes to the failed store with error and stack, and failed() runs", async () => {
  const { manager, registry } = setup();
  registry.register(FailingJob);
  FailingJob.hookCalls = [];
  const id = await manager.push(new FailingJob({ maxAttempts: 2, backoff: [0] }));
  const events = await work(manager, ["default"], {}, (e) => e.some((x) => x.type === "failed"));
  assert.deepEqual(events.filter((e) => e.type !== "started").map((e) => e.type), [
    "retrying",
    "failed",
  ]);
  const [failed] = await manager.failedJobs();
  assert.equal(failed.id, id);
  assert.equal(failed.attempts, 2);
  assert.match(failed.error, /always fails/);
  assert.match(failed.stack, /FailingJob\.handle/);
  assert.deepEqual(FailingJob.hookCalls, ["always fails"]);
  assert.equal(await manager.size("default"), 0);
});

Deno.test("tries from the worker options apply when the job sets none", async () => {
  const { manager, registry } = setup();
  registry.register(FailingJob);
  await manager.push(new FailingJob({ backoff: [0] }));
  const events = await work(
    manager,
    ["default"],
    { tries: 1 },
    (e) => e.some((x) => x.type === "failed"),
  );
  assert.equal(events.filter((e) => e.type === "retrying").length, 0);
});

Deno.test("an UnrecoverableError fails the job at once, whatever tries are left", async () => {
  const { manager, registry } = setup();
  registry.register(UnrecoverableJob);
  await manager.push(new UnrecoverableJob({ maxAttempts: 5 }));
  const events = await work(manager, ["default"], {}, (e) => e.some((x) => x.type === "failed"));
  assert.equal(events.find((e) => e.type === "failed")!.attempt, 1);
  assert.equal(await manager.flushFailed(), 1);
});

Deno.test("the timeout aborts the handler's signal and fails the attempt", async () => {
  const { manager, registry } = setup();
  registry.register(WaitsForAbortJob);
  WaitsForAbortJob.aborted = false;
  await manager.push(new WaitsForAbortJob({ maxAttempts: 1, timeout: 100 }));
  const events = await work(manager, ["default"], {}, (e) => e.some((x) => x.type === "failed"));
  const failed = events.find((e) => e.type === "failed")!;
  assert.equal(failed.error?.name, "JobTimeoutError");
  assert.ok(WaitsForAbortJob.aborted);
  assert.match((await manager.failedJobs())[0].error, /timeout of 100 ms/);
});

Deno.test("maxJobs stops the worker after that many jobs and leaves the rest queued", async () => {
  const { manager, registry } = setup();
  registry.register(SlowJob);
  for (let i = 0; i < 5; i++) await manager.push(new SlowJob());
  const worker = new Worker(manager, ["default"], { maxJobs: 3, sleep: 50, heartbeatMs: 0 });
  const exit = await worker.start();
  assert.deepEqual(exit, { reason: "max_jobs", processed: 3, failed: 0 });
  assert.equal(await manager.size("default"), 2);
});

Deno.test("maxJobs holds with concurrency above one", async () => {
  const { manager, registry } = setup();
  registry.register(SlowJob);
  for (let i = 0; i < 10; i++) await manager.push(Object.assign(new SlowJob(), { ms: 20 }));
  const exit = await new Worker(manager, ["default"], {
    maxJobs: 3,
    concurrency: 8,
    heartbeatMs: 0,
  }).start();
  assert.equal(exit.processed, 3);
  assert.equal(await manager.size("default"), 7);
});

Deno.test("maxTime stops an idle worker on time even with a long sleep", async () => {
  const { manager } = setup();
  const started = Date.now();
  const exit = await new Worker(manager, ["default"], {
    maxTime: 200,
    sleep: 10_000,
    heartbeatMs: 0,
  }).start();
  assert.equal(exit.reason, "max_time");
  assert.ok(Date.now() - started < 5000);
});

Deno.test("the memory limit stops the worker before it takes a job, losing nothing", async () => {
  const { manager, registry } = setup();
  registry.register(SlowJob);
  await manager.push(new SlowJob());
  const exit = await new Worker(manager, ["default"], { memory: 1, heartbeatMs: 0 }).start();
  assert.equal(exit.reason, "memory");
  assert.equal((await manager.stats("default")).ready, 1);
});

class StampJob extends BaseJob {
  static stamps: number[] = [];
  handle(): void {
    StampJob.stamps.push(Date.now());
  }
}

Deno.test("rest pauses after each job", async () => {
  const { manager, registry } = setup();
  registry.register(StampJob);
  StampJob.stamps = [];
  for (let i = 0; i < 3; i++) await manager.push(new StampJob());
  await work(
    manager,
    ["default"],
    { rest: 150 },
    (e) => e.filter((x) => x.type === "done").length === 3,
  );
  const [a, b, c] = StampJob.stamps;
  assert.ok(b - a >= 140 && c - b >= 140, `gaps ${b - a} ms and ${c - b} ms`);
});

Deno.test("stop() lets the jobs in flight finish and acknowledges them", async () => {
  const { manager, registry } = setup();
  registry.register(SlowJob);
  ledger.length = 0;
  await manager.push(Object.assign(new SlowJob(), { ms: 300, label: "long" }));
  const worker = new Worker(manager, ["default"], { sleep: 50, heartbeatMs: 0 });
  const done = worker.start();
  while (!ledger.includes("start long")) await sleep(5);
  await worker.stop();
  assert.deepEqual(ledger, ["start long", "end long"]);
  assert.equal((await done).processed, 1);
  assert.equal(await manager.size("default"), 0);
});

Deno.test("concurrency runs several jobs at once", async () => {
  const { manager, registry } = setup();
  registry.register(SlowJob);
  ledger.length = 0;
  for (let i = 0; i < 4; i++) {
    await manager.push(Object.assign(new SlowJob(), { ms: 100, label: `${i}` }));
  }
  await work(
    manager,
    ["default"],
    { concurrency: 4 },
    (e) => e.filter((x) => x.type === "done").length === 4,
  );
  assert.deepEqual(ledger.slice(0, 4).sort(), ["start 0", "start 1", "start 2", "start 3"]);
});

Deno.test("a worker serving several queues takes the highest-priority one first", async () => {
  const { manager, registry } = setup();
  registry.register(SlowJob);
  ledger.length = 0;
  await manager.push(Object.assign(new SlowJob({ queue: "low" }), { label: "low" }));
  await manager.push(Object.assign(new SlowJob({ queue: "default" }), { label: "default" }));
  await manager.push(Object.assign(new SlowJob({ queue: "high" }), { label: "high" }));
  // The embedded default config has the seed's priorities: high 2, default 1, low 0.
  await work(
    manager,
    ["low", "default", "high"],
    {},
    (e) => e.filter((x) => x.type === "done").length === 3,
  );
  assert.deepEqual(ledger.filter((l) => l.startsWith("start")), [
    "start high",
    "start default",
    "start low",
  ]);
});

Deno.test("malformed payloads and unknown job types go to the failed store; the worker goes on", async () => {
  const { manager, driver, registry } = setup();
  registry.register(SlowJob);
  await driver.push({ id: "bad-json", queue: "default", payload: "{not json" });
  await driver.push({
    id: "unknown",
    queue: "default",
    payload: JSON.stringify({ v: 1, type: "NoSuchJob", data: {} }),
  });
  await driver.push({
    id: "polluted",
    queue: "default",
    payload: '{"v":1,"type":"SlowJob","data":{"__proto__":{"x":1}}}',
  });
  await manager.push(Object.assign(new SlowJob(), { label: "good" }));
  const events = await work(manager, ["default"], {}, (e) => e.some((x) => x.type === "done"));
  assert.equal(events.filter((e) => e.type === "invalid").length, 3);
  const failed = Object.fromEntries((await manager.failedJobs()).map((f) => [f.id, f.error]));
  assert.match(failed["bad-json"], /not valid JSON/);
  assert.match(failed["unknown"], /No job class is registered for type "NoSuchJob"/);
  assert.match(failed["polluted"], /forbidden key "__proto__"/);
  assert.equal(await manager.size("default"), 0);
});

Deno.test("a broadcast stop ends the worker", async () => {
  const { manager } = setup();
  const worker = new Worker(manager, ["default"], {
    sleep: 10_000,
    stopCheckMs: 50,
    heartbeatMs: 0,
  });
  const done = worker.start();
  await sleep(100);
  await manager.broadcastStop();
  assert.equal((await done).reason, "stop_broadcast");
});

Deno.test("heartbeats show the worker alive while it runs and gone after", async () => {
  const { manager } = setup();
  const worker = new Worker(manager, ["default", "high"], { sleep: 50, heartbeatMs: 50 });
  const done = worker.start();
  await sleep(120);
  const [beat] = await manager.workers(1000);
  assert.equal(beat.id, worker.id);
  assert.deepEqual(beat.queues, ["high", "default"]);
  await worker.stop();
  await done;
  assert.deepEqual(await manager.workers(1000), []);
});
