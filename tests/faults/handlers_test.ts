/**
 * Scenarios 6 and 7, per store: a handler that ignores its abort signal and one
 * that blocks the event loop past the timeout (the attempt fails, the worker
 * process is replaced, other jobs continue), and a handler that leaks memory
 * past `memory` (the worker exits and is restarted; no job lost).
 */

import assert from "node:assert/strict";
import { waitUntil } from "../_services.ts";
import { Running } from "../cli/_cli.ts";
import { figure, range, readLedger, summarize, waitForLedger } from "./_ledger.ts";
import { setUp } from "./_setup.ts";
import { STORES } from "./_stores.ts";

const options = { sanitizeOps: false, sanitizeResources: false };

for (const name of STORES) {
  Deno.test({
    name:
      `faults ${name}: handlers that ignore the timeout or block the loop get their worker replaced`,
    ...options,
    fn: async () => {
      const setup = await setUp(name, {
        name: "stuck",
        options: "priority: 1, processes: 2, timeout: 1, tries: 1, retry_after: 3",
        worker: "sleep: 0.2",
      });
      const service = new Running("queue-cmd", ["-start", `-config=${setup.config}`]);
      try {
        await service.waitFor(/queue service started: 2 worker processes/);
        const startedAt = Date.now();
        await setup.push(0, 1, { mode: "ignore", waitMs: 30_000 });
        await setup.push(1, 1, { mode: "block" });
        await setup.push(2, 40, { waitMs: 20 });
        const good = range(40, 2);
        const lines = await waitForLedger(setup.ledger, good, 40_000);
        const summary = summarize(lines, good);
        assert.deepEqual(summary.lost, [], "the other jobs continued");
        assert.deepEqual(summary.duplicates, []);

        await service.waitFor(/ran past its timeout of 1 s plus 5 s; killing the worker/, 20_000);
        const [ignorer] = lines.filter((l) => l.n === 0);
        const [blocker] = lines.filter((l) => l.n === 1);
        for (const pid of [ignorer.pid, blocker.pid]) {
          await service.waitFor(new RegExp(`worker pid ${pid} for stuck exited \\(killed`), 20_000);
        }
        const manager = await setup.manager();
        await waitUntil(async () => (await manager.failedJobs()).length === 2, 20_000, "2 failed");
        const failed = await manager.failedJobs();
        for (const job of failed) {
          assert.match(job.error, /timeout|attempted too many times|exceeded/i, job.error);
        }
        const all = await readLedger(setup.ledger);
        assert.equal(all.filter((l) => l.n === 1 && l.p === "s").length, 1, "no second block");
        assert.equal(all.filter((l) => l.n === 0 && l.p === "e").length, 0);
        assert.equal(await manager.size("stuck"), 0);
        await waitUntil(() => service.workerPids().length >= 4, 10_000, "both workers replaced");
        figure("6 stuck handlers", name, {
          jobs: 42,
          lost: 0,
          duplicates: 0,
          recovery: `${((Date.now() - startedAt) / 1000).toFixed(1)} s to settle all`,
        });
        Deno.kill(service.child.pid, "SIGTERM");
        assert.equal((await service.exit(15_000)).code, 0);
      } finally {
        service.kill();
        await setup.cleanup();
      }
    },
  });

  Deno.test({
    name:
      `faults ${name}: a handler leaking memory past the limit gets its worker restarted, no job lost`,
    ...options,
    fn: async () => {
      const jobs = 16;
      const setup = await setUp(name, {
        name: "leak",
        options: "priority: 1, processes: 1, timeout: 10, tries: 3, retry_after: 30",
        worker: "sleep: 0.2, memory: 250",
      });
      const service = new Running("queue-cmd", ["-start", `-config=${setup.config}`]);
      try {
        await service.waitFor(/queue service started: 1 worker processes/);
        await setup.push(0, jobs, { mode: "leak", leakMb: 60, waitMs: 300 });
        const lines = await waitForLedger(setup.ledger, range(jobs), 60_000);
        const summary = summarize(lines, range(jobs));
        assert.deepEqual(summary.lost, []);
        assert.deepEqual(summary.duplicates, [], "a memory exit finishes its job first");
        const restarts = [
          ...service.log.matchAll(/exited \(memory, code 0\); restarting in 0 ms/g),
        ];
        assert.ok(restarts.length >= 3, `restarted at the memory limit:\n${service.log}`);
        const pids = new Set(lines.map((l) => l.pid));
        assert.ok(pids.size >= 4, "jobs ran in several worker generations");
        figure("7 memory leak", name, {
          jobs,
          lost: 0,
          duplicates: 0,
          recovery: `${restarts.length} restarts`,
        });
        Deno.kill(service.child.pid, "SIGTERM");
        assert.equal((await service.exit(15_000)).code, 0);
      } finally {
        service.kill();
        await setup.cleanup();
      }
    },
  });
}
