/**
 * The driver contract suite: one set of behaviours, written once, that every
 * driver must pass against its real store. A driver's test file calls
 * `driverContract("name", factory)`.
 */
import assert from "node:assert/strict";
import type { Driver, NewJob, ReservedJob } from "../../src/drivers/driver.ts";
import { sleep } from "../_services.ts";

/** A fresh, empty store per test, plus a second client of the same store. */
export interface ContractStore {
  /** The driver under test, connected to an empty store. */
  driver: Driver;
  /** Another driver instance on the same store (another worker process's view). */
  sibling(): Promise<Driver>;
  /** Closes everything and removes what the test created. */
  cleanup(): Promise<void>;
}

/** Options for the suite. */
export interface ContractOptions {
  /** Skip every test (the server is down and CI does not require it). */
  ignore?: boolean;
}

/**
 * Registers a test that opens a fresh store, runs `fn`, and cleans up: the
 * wrapper of the contract suite, for a driver's own extra tests as well.
 */
export function storeTest<S extends { cleanup(): Promise<void> }>(
  label: string,
  open: () => Promise<S>,
  ignore = false,
): (title: string, fn: (store: S) => Promise<void>) => void {
  return (title, fn) =>
    Deno.test({
      name: `${label}: ${title}`,
      ignore,
      sanitizeOps: false,
      sanitizeResources: false,
      fn: async () => {
        const store = await open();
        try {
          await fn(store);
        } finally {
          await store.cleanup();
        }
      },
    });
}

let counter = 0;
function job(queue: string, label = `job-${counter++}`): NewJob {
  return {
    id: crypto.randomUUID(),
    queue,
    payload: JSON.stringify({ v: 1, queue, type: "Test", data: { label } }),
  };
}
function labelOf(reserved: ReservedJob): string {
  return JSON.parse(reserved.payload).data.label;
}
const claim = (name: string, retryAfterMs = 60_000) => ({ name, retryAfterMs });

/** Registers the contract tests for one driver. */
export function driverContract(
  name: string,
  open: () => Promise<ContractStore>,
  options: ContractOptions = {},
): void {
  const test = storeTest(`${name} driver`, open, options.ignore);

  test("push then reserve returns the job with attempts 1 and its payload intact", async ({ driver }) => {
    const pushed = job("default");
    await driver.push(pushed);
    const [reserved] = await driver.reserve({ queues: [claim("default")] });
    assert.equal(reserved.id, pushed.id);
    assert.equal(reserved.queue, "default");
    assert.equal(reserved.payload, pushed.payload);
    assert.equal(reserved.attempts, 1);
    assert.ok(reserved.reservedUntil >= reserved.reservedAt + 59_000);
    assert.deepEqual(await driver.reserve({ queues: [claim("default")] }), []);
  });

  test("jobs of one queue come out oldest first", async ({ driver }) => {
    for (const label of ["a", "b", "c"]) await driver.push(job("fifo", label));
    const order = [];
    for (let i = 0; i < 3; i++) {
      order.push(labelOf((await driver.reserve({ queues: [claim("fifo")] }))[0]));
    }
    assert.deepEqual(order, ["a", "b", "c"]);
  });

  test("pushBulk stores every job in order", async ({ driver }) => {
    const jobs = Array.from({ length: 100 }, (_, i) => job("bulk", `n${i}`));
    await driver.pushBulk(jobs);
    assert.equal(await driver.size("bulk"), 100);
    const reserved = await driver.reserve({ queues: [claim("bulk")], count: 100 });
    assert.deepEqual(reserved.map(labelOf), jobs.map((_, i) => `n${i}`));
  });

  test("reserve with count takes several jobs at once, never more than asked", async ({ driver }) => {
    await driver.pushBulk(Array.from({ length: 5 }, () => job("batch")));
    assert.equal((await driver.reserve({ queues: [claim("batch")], count: 3 })).length, 3);
    assert.equal((await driver.reserve({ queues: [claim("batch")], count: 3 })).length, 2);
  });

  test("a delayed job is invisible until its delay passes", async ({ driver }) => {
    await driver.push({ ...job("later"), delayMs: 400 });
    assert.deepEqual(await driver.reserve({ queues: [claim("later")] }), []);
    const stats = await driver.stats("later");
    assert.equal(stats.delayed, 1);
    assert.equal(stats.ready, 0);
    assert.equal(await driver.size("later"), 1);
    await sleep(500);
    assert.equal((await driver.reserve({ queues: [claim("later")] })).length, 1);
  });

  test("a waiting reserve gets a delayed job soon after it is due", async ({ driver }) => {
    await driver.push({ ...job("due"), delayMs: 300 });
    const started = Date.now();
    const reserved = await driver.reserve({ queues: [claim("due")], waitMs: 3000 });
    assert.equal(reserved.length, 1);
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  });

  test("higher-priority queues are served first, whatever the age", async ({ driver }) => {
    await driver.push(job("low", "old-low"));
    await driver.push(job("default", "old-default"));
    await driver.push(job("high", "new-high"));
    const queues = [claim("high"), claim("default"), claim("low")];
    const order = [];
    for (let i = 0; i < 3; i++) order.push(labelOf((await driver.reserve({ queues }))[0]));
    assert.deepEqual(order, ["new-high", "old-default", "old-low"]);
  });

  test("a batch fills from the next queue when the first runs dry", async ({ driver }) => {
    await driver.push(job("high", "h1"));
    await driver.push(job("default", "d1"));
    const reserved = await driver.reserve({ queues: [claim("high"), claim("default")], count: 5 });
    assert.deepEqual(reserved.map(labelOf), ["h1", "d1"]);
  });

  test("delete removes the job for good; a stale token does nothing", async ({ driver }) => {
    await driver.push(job("ack"));
    const [reserved] = await driver.reserve({ queues: [claim("ack")] });
    assert.equal(await driver.delete({ ...reserved, token: "not-the-token" }), false);
    assert.equal(await driver.size("ack"), 1);
    assert.equal(await driver.delete(reserved), true);
    assert.equal(await driver.size("ack"), 0);
    assert.equal(await driver.delete(reserved), false);
  });

  test("release puts the job back after its delay and the next reserve counts attempt 2", async ({ driver }) => {
    await driver.push(job("retry"));
    const [first] = await driver.reserve({ queues: [claim("retry")] });
    assert.equal(await driver.release(first, 300), true);
    assert.equal((await driver.stats("retry")).delayed, 1);
    assert.deepEqual(await driver.reserve({ queues: [claim("retry")] }), []);
    await sleep(400);
    const [second] = await driver.reserve({ queues: [claim("retry")] });
    assert.equal(second.id, first.id);
    assert.equal(second.attempts, 2);
    assert.notEqual(second.token, first.token);
  });

  test("an expired reservation comes back to another worker (the first worker vanished)", async ({ driver, sibling }) => {
    await driver.push(job("orphan"));
    const [lost] = await driver.reserve({ queues: [claim("orphan", 300)] });
    const other = await sibling();
    assert.deepEqual(await other.reserve({ queues: [claim("orphan", 300)] }), []);
    await sleep(400);
    const [again] = await other.reserve({ queues: [claim("orphan", 300)] });
    assert.equal(again.id, lost.id);
    assert.equal(again.attempts, 2);
    assert.equal(
      await driver.delete(lost),
      false,
      "the vanished worker's late ack must not delete the job",
    );
    assert.equal(await other.delete(again), true);
  });

  test("two consumers never get the same job while it is reserved", async ({ driver, sibling }) => {
    await driver.pushBulk(Array.from({ length: 60 }, () => job("shared")));
    const other = await sibling();
    const seen: string[] = [];
    const consume = async (consumer: Driver) => {
      while (true) {
        const got = await consumer.reserve({ queues: [claim("shared")], count: 2 });
        if (got.length === 0) return;
        seen.push(...got.map((reserved) => reserved.id));
      }
    };
    await Promise.all([consume(driver), consume(other), consume(driver), consume(other)]);
    assert.equal(seen.length, 60);
    assert.equal(new Set(seen).size, 60);
  });

  test("a waiting reserve wakes when a job is pushed", async ({ driver, sibling }) => {
    const producer = await sibling();
    const started = Date.now();
    const waiting = driver.reserve({ queues: [claim("wake")], waitMs: 5000 });
    await sleep(50);
    await producer.push(job("wake"));
    const reserved = await waiting;
    assert.equal(reserved.length, 1);
    assert.ok(Date.now() - started < 4000, `woke after ${Date.now() - started} ms`);
  });

  test("an aborted signal ends a waiting reserve promptly", async ({ driver }) => {
    const controller = new AbortController();
    const started = Date.now();
    const waiting = driver.reserve({
      queues: [claim("idle")],
      waitMs: 10_000,
      signal: controller.signal,
    });
    await sleep(50);
    controller.abort();
    assert.deepEqual(await waiting, []);
    assert.ok(Date.now() - started < 5000, `returned after ${Date.now() - started} ms`);
  });

  test("stats break a queue down into ready, delayed, reserved and failed", async ({ driver }) => {
    await driver.pushBulk([job("mix"), job("mix"), job("mix")]);
    await driver.push({ ...job("mix"), delayMs: 60_000 });
    const [toFail, toHold] = await driver.reserve({ queues: [claim("mix")], count: 2 });
    await driver.fail(toFail, { error: "boom" });
    assert.ok(toHold);
    const stats = await driver.stats("mix");
    assert.deepEqual(
      [stats.ready, stats.delayed, stats.reserved, stats.failed, stats.paused],
      [1, 1, 1, 1, false],
    );
    assert.equal(typeof stats.oldestReadyAt, "number");
    assert.equal(await driver.size("mix"), 3);
  });

  test("clear removes ready, delayed and reserved jobs and says how many", async ({ driver }) => {
    await driver.pushBulk([job("wipe"), job("wipe")]);
    await driver.push({ ...job("wipe"), delayMs: 60_000 });
    await driver.push(job("keep"));
    await driver.reserve({ queues: [claim("wipe")] });
    assert.equal(await driver.clear("wipe"), 3);
    assert.equal(await driver.size("wipe"), 0);
    assert.equal(await driver.size("keep"), 1);
    assert.deepEqual(await driver.reserve({ queues: [claim("wipe")] }), []);
  });

  test("failed store: fail, list with error and stack, retry, forget, flush", async ({ driver }) => {
    await driver.pushBulk([job("fails", "f1"), job("fails", "f2"), job("fails", "f3")]);
    const reserved = await driver.reserve({ queues: [claim("fails")], count: 3 });
    for (const [i, r] of reserved.entries()) {
      assert.equal(
        await driver.fail(r, { error: `boom ${i}`, stack: `Error: boom ${i}\n    at x` }),
        true,
      );
    }
    assert.equal(await driver.size("fails"), 0);
    assert.equal(await driver.failedCount("fails"), 3);
    assert.equal(await driver.failedCount(), 3);
    const listed = await driver.failedList({ queue: "fails" });
    assert.equal(listed.length, 3);
    const first = listed.find((f) => f.id === reserved[0].id)!;
    assert.equal(first.error, "boom 0");
    assert.match(first.stack, /at x/);
    assert.equal(first.attempts, 1);
    assert.equal(first.payload, reserved[0].payload);
    assert.equal(listed[0].id, reserved[2].id, "newest first");
    assert.equal((await driver.failedList({ limit: 1, offset: 1 }))[0].id, reserved[1].id);

    assert.equal(await driver.failedRetry(reserved[0].id), true);
    assert.equal(await driver.failedRetry("no-such-id"), false);
    const [again] = await driver.reserve({ queues: [claim("fails")] });
    assert.equal(again.id, reserved[0].id);
    assert.equal(again.attempts, 1, "a retried job starts counting again");

    assert.equal(await driver.failedForget(reserved[1].id), true);
    assert.equal(await driver.failedForget(reserved[1].id), false);
    assert.equal(await driver.failedFlush(), 1);
    assert.equal(await driver.failedCount(), 0);
  });

  test("a stale reservation cannot fail or release the job", async ({ driver }) => {
    await driver.push(job("stale"));
    const [reserved] = await driver.reserve({ queues: [claim("stale")] });
    const stale = { ...reserved, token: "stale" };
    assert.equal(await driver.fail(stale, { error: "x" }), false);
    assert.equal(await driver.release(stale, 0), false);
    assert.equal(await driver.failedCount(), 0);
    assert.equal((await driver.stats("stale")).reserved, 1);
  });

  test("queues lists every queue that holds jobs or failed jobs", async ({ driver }) => {
    await driver.push(job("alpha"));
    await driver.push({ ...job("beta"), delayMs: 60_000 });
    await driver.push(job("gamma"));
    const [g] = await driver.reserve({ queues: [claim("gamma")] });
    await driver.fail(g, { error: "x" });
    assert.deepEqual(await driver.queues(), ["alpha", "beta", "gamma"]);
  });

  test("broadcastStop records the store's time", async ({ driver, sibling }) => {
    const before = await driver.now();
    assert.equal(await driver.lastStopAt(), null);
    const at = await driver.broadcastStop();
    const seen = await (await sibling()).lastStopAt();
    assert.equal(seen, at);
    assert.ok(at >= before - 1000);
  });

  test("a paused queue is skipped by reserve but accepts pushes", async ({ driver }) => {
    await driver.pause("held");
    await driver.push(job("held"));
    await driver.push(job("open"));
    const queues = [claim("held"), claim("open")];
    assert.deepEqual((await driver.reserve({ queues, count: 5 })).map((r) => r.queue), ["open"]);
    assert.equal((await driver.stats("held")).paused, true);
    assert.deepEqual(await driver.pausedQueues(), ["held"]);
    await driver.resume("held");
    assert.equal((await driver.reserve({ queues })).length, 1);
    assert.deepEqual(await driver.pausedQueues(), []);
  });

  test("heartbeats list live workers and drop stale and removed ones", async ({ driver, sibling }) => {
    const beat = {
      id: "host:1:a",
      host: "host",
      pid: 1,
      queues: ["high", "default"],
      startedAt: Date.now(),
      lastBeatAt: 0,
      processed: 5,
      failed: 1,
      currentJob: "job-1",
    };
    await driver.heartbeat(beat);
    const [seen] = await (await sibling()).workers(10_000);
    assert.deepEqual({ ...seen, lastBeatAt: 0 }, beat);
    assert.ok(Math.abs(seen.lastBeatAt - (await driver.now())) < 5000);
    await sleep(300);
    assert.deepEqual(
      await driver.workers(100),
      [],
      "a worker silent for longer than the limit is not alive",
    );
    await driver.heartbeat(beat);
    await driver.removeWorker(beat.id);
    assert.deepEqual(await driver.workers(10_000), []);
  });

  test("metrics count processed and failed jobs per minute with duration percentiles", async ({ driver }) => {
    await driver.pushBulk(Array.from({ length: 5 }, () => job("counted")));
    const reserved = await driver.reserve({ queues: [claim("counted")], count: 5 });
    for (const [i, r] of reserved.slice(0, 4).entries()) {
      await driver.delete(r, { durationMs: (i + 1) * 10 });
    }
    await driver.fail(reserved[4], { error: "x" }, { durationMs: 1000 });
    const metrics = await driver.metrics("counted");
    assert.equal(metrics.processedTotal, 4);
    assert.equal(metrics.failedTotal, 1);
    assert.equal(metrics.minutes.length, 60);
    const recent = metrics.minutes.slice(-2);
    assert.equal(recent.reduce((sum, m) => sum + m.processed, 0), 4);
    assert.equal(recent.reduce((sum, m) => sum + m.failed, 0), 1);
    assert.equal(metrics.durationP50, 30);
    assert.equal(metrics.durationP95, 1000);
    const empty = await driver.metrics("never-used");
    assert.equal(empty.processedTotal, 0);
    assert.equal(empty.durationP50, null);
  });

  test("now() follows the wall clock", async ({ driver }) => {
    assert.ok(Math.abs((await driver.now()) - Date.now()) < 5000);
  });
}
