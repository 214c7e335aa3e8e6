/**
 * Scenario 5: 8 worker processes on one MariaDB queue of 5,000 jobs, and 4 on
 * SQLite: no job is done twice while its reservation is valid (retry_after is
 * far longer than the run, so any second run is a violation), and busy or
 * deadlock errors are retried inside the driver, never surfaced to the worker.
 */

import assert from "node:assert/strict";
import { Running } from "../cli/_cli.ts";
import { figure, range, summarize, waitForLedger } from "./_ledger.ts";
import { setUp } from "./_setup.ts";
import { type StoreName, storeUp } from "./_stores.ts";

const options = { sanitizeOps: false, sanitizeResources: false };
const JOBS = 5000;

for (const [name, processes] of [["mysql", 8], ["sqlite", 4]] as [StoreName, number][]) {
  Deno.test({
    name: `faults ${name}: ${processes} worker processes on one queue of ${JOBS} jobs`,
    ignore: !storeUp(name),
    ...options,
    fn: async () => {
      const setup = await setUp(name, {
        name: "busy",
        options: "priority: 1, timeout: 30, tries: 3, retry_after: 120",
        worker: "sleep: 0.2, concurrency: 2",
      });
      const workers = Array.from(
        { length: processes },
        () => new Running("worker", [`-config=${setup.config}`]),
      );
      try {
        for (const worker of workers) await worker.waitFor(/serving busy/);
        const started = Date.now();
        await setup.push(0, JOBS);
        const lines = await waitForLedger(setup.ledger, range(JOBS), 120_000);
        const seconds = (Date.now() - started) / 1000;
        const summary = summarize(lines, range(JOBS));
        assert.deepEqual(summary.lost, [], "no job lost");
        assert.deepEqual(summary.duplicates.slice(0, 5), [], "no job done twice");
        assert.ok(lines.every((line) => line.a === 1), "every job ran on its first reservation");
        const pids = new Set(lines.map((line) => line.pid));
        assert.ok(pids.size >= Math.min(processes, 3), `the work was shared (${pids.size} pids)`);
        for (const worker of workers) Deno.kill(worker.child.pid, "SIGTERM");
        for (const worker of workers) {
          assert.equal((await worker.exit(15_000)).code, 0);
          assert.doesNotMatch(worker.log, /ERROR|worker loop error|deadlock|SQLITE_BUSY|locked/i);
        }
        assert.equal(await (await setup.manager()).size("busy"), 0);
        figure(`5 contention, ${processes} processes`, name, {
          jobs: JOBS,
          lost: 0,
          duplicates: 0,
          recovery: `drained in ${seconds.toFixed(1)} s by ${pids.size} pids`,
        });
      } finally {
        for (const worker of workers) worker.kill();
        await setup.cleanup();
      }
    },
  });
}
