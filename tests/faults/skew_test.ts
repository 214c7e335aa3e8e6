/**
 * Scenario 9, clock skew. Every driver takes reservation and delay times from
 * the store's clock (SQLite unixepoch, MariaDB NOW(3), Redis TIME), so:
 * (a) a worker whose clock is 30 s ahead never takes a job another worker
 * holds under a valid reservation; (b) a delayed job pushed by a producer
 * whose clock is 30 s off becomes due by the store's clock. MemoryDriver, whose
 * store is the process, takes an injectable clock: checked at unit level.
 */

import assert from "node:assert/strict";
import { MemoryDriver } from "../../src/drivers/memory.ts";
import { sleep } from "../_services.ts";
import { PERMISSIONS, Running } from "../cli/_cli.ts";
import { figure, range, summarize, waitForLedger } from "./_ledger.ts";
import { setUp } from "./_setup.ts";
import { STORES } from "./_stores.ts";

const options = { sanitizeOps: false, sanitizeResources: false };
const SKEW_MS = 30_000;
const FIXTURE = new URL("../fixtures/faults_skew.ts", import.meta.url).pathname;

/** Runs the skew fixture (a worker or a producer) with its clock `skewMs` off. */
function skewed(skewMs: number, args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...PERMISSIONS, FIXTURE, String(skewMs), ...args],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

for (const name of STORES) {
  Deno.test({
    name: `faults ${name}: a worker 30 s ahead never takes a job under a valid reservation`,
    ...options,
    fn: async () => {
      const jobs = 24;
      const setup = await setUp(name, {
        name: "skew",
        options: "priority: 1, timeout: 8, tries: 3, retry_after: 6",
        worker: "sleep: 0.2, concurrency: 3",
      });
      const normal = new Running("worker", [`-config=${setup.config}`]);
      const ahead = skewed(SKEW_MS, ["worker", `-config=${setup.config}`]);
      try {
        await normal.waitFor(/serving skew/);
        await setup.push(0, jobs, { waitMs: 1500 });
        const lines = await waitForLedger(setup.ledger, range(jobs), 40_000);
        const summary = summarize(lines, range(jobs));
        assert.deepEqual(summary.lost, [], "no job lost");
        assert.deepEqual(summary.duplicates, [], "no job taken while its reservation was valid");
        const pids = new Set(lines.map((l) => l.pid));
        assert.ok(pids.has(ahead.pid), "the skewed worker took jobs");
        assert.ok(pids.has(normal.child.pid), "the other worker took jobs");
        figure("9 clock skew +30 s (reservations)", name, {
          jobs,
          lost: 0,
          duplicates: 0,
          recovery: `2 workers, 1.5 s jobs, retry_after 6 s`,
        });
      } finally {
        normal.kill();
        try {
          ahead.kill("SIGKILL");
        } catch { /* gone */ }
        await ahead.status;
        await ahead.stderr.cancel().catch(() => {});
        await setup.cleanup();
      }
    },
  });

  Deno.test({
    name: `faults ${name}: a delay pushed by a producer 30 s off is due by the store's clock`,
    ...options,
    fn: async () => {
      const delayMs = 3000;
      const setup = await setUp(name, {
        name: "skew",
        options: "priority: 1, timeout: 8, tries: 3, retry_after: 10",
        worker: "sleep: 0.2, concurrency: 2",
      });
      const worker = new Running("worker", [`-config=${setup.config}`]);
      try {
        await worker.waitFor(/serving skew/);
        const pushed: number[] = [];
        for (const [n, skew] of [[0, -SKEW_MS], [1, SKEW_MS]]) {
          const producer = skewed(skew, ["push", setup.config, setup.ledger, String(n), "3000"]);
          const before = Date.now();
          const status = await Promise.race([
            producer.output(),
            sleep(20_000).then(() => {
              producer.kill("SIGKILL");
              throw new Error("the skewed producer did not finish within 20 s");
            }),
          ]);
          assert.equal(status.code, 0, new TextDecoder().decode(status.stderr));
          pushed[n] = before;
        }
        const lines = await waitForLedger(setup.ledger, [0, 1], 15_000);
        const waits = [0, 1].map((n) => lines.find((l) => l.n === n && l.p === "s")!.t - pushed[n]);
        // Behind: it would have run at once; ahead: 33 s later.
        for (const [n, waited] of waits.entries()) {
          assert.ok(
            waited >= delayMs - 250 && waited <= delayMs + 4000,
            `job ${n} ran ${waited} ms after its push with a ${delayMs} ms delay`,
          );
        }
        figure("9 clock skew ±30 s (delays)", name, {
          jobs: 2,
          lost: 0,
          duplicates: 0,
          recovery: `3 s delay ran after ${(waits[0] / 1000).toFixed(2)} s (-30 s) and ${
            (waits[1] / 1000).toFixed(2)
          } s (+30 s)`,
        });
        Deno.kill(worker.child.pid, "SIGTERM");
        assert.equal((await worker.exit(15_000)).code, 0, worker.log);
      } finally {
        worker.kill();
        await setup.cleanup();
      }
    },
  });
}

Deno.test("faults memory: reservations and delays follow the injected clock, not Date.now", async () => {
  let now = 1_000_000;
  const driver = new MemoryDriver({ clock: () => now });
  const realNow = Date.now;
  Date.now = () => realNow() + SKEW_MS; // the process's clock is off; the store's is not
  try {
    const queues = [{ name: "skew", retryAfterMs: 6000 }];
    await driver.push({ id: "a", queue: "skew", payload: "{}", delayMs: 3000 });
    assert.equal((await driver.reserve({ queues, count: 1 })).length, 0, "not due yet");
    now += 2999;
    assert.equal((await driver.reserve({ queues, count: 1 })).length, 0, "1 ms before due");
    now += 1;
    const [first] = await driver.reserve({ queues, count: 1 });
    assert.equal(first?.id, "a", "due by the store's clock");
    now += 5999;
    assert.equal((await driver.reserve({ queues, count: 1 })).length, 0, "reservation valid");
    now += 1;
    const [again] = await driver.reserve({ queues, count: 1 });
    assert.equal(again?.attempts, 2, "taken again once the reservation expired");
  } finally {
    Date.now = realNow;
    await driver.close();
  }
});
