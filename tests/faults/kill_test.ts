/**
 * Scenarios 1 and 2, per store: a worker process SIGKILLed with jobs in
 * flight (lost 0, duplicates only among its in-flight jobs, back within
 * retry_after + 1 s), and the queue service SIGTERMed during a 2,000-job run
 * (in-flight jobs finish, nothing released half-done, exit within the timeout).
 */

import assert from "node:assert/strict";
import { waitUntil } from "../_services.ts";
import { alive, killPid, Running } from "../cli/_cli.ts";
import { figure, range, readLedger, summarize, waitForLedger } from "./_ledger.ts";
import { setUp } from "./_setup.ts";
import { STORES } from "./_stores.ts";

const RETRY_AFTER_S = 2;
const options = { sanitizeOps: false, sanitizeResources: false };

for (const name of STORES) {
  Deno.test({
    name: `faults ${name}: SIGKILL of a worker with jobs in flight loses none`,
    ...options,
    fn: async () => {
      const jobs = 300;
      const setup = await setUp(name, {
        name: "kill",
        options: `priority: 1, processes: 2, timeout: 5, tries: 3, retry_after: ${RETRY_AFTER_S}`,
        worker: "sleep: 0.2, concurrency: 4",
      });
      const service = new Running("queue-cmd", ["-start", `-config=${setup.config}`]);
      try {
        await service.waitFor(/queue service started: 2 worker processes/);
        await setup.push(0, jobs, { waitMs: 40 });
        let victim = 0;
        await waitUntil(
          async () => {
            const lines = await readLedger(setup.ledger);
            if (lines.filter((l) => l.p === "e").length < 60) return false;
            const open = openJobs(lines);
            victim = [...open.values()].find((pid) => service.workerPids().includes(pid)) ?? 0;
            return victim !== 0;
          },
          30_000,
          "a worker holding jobs after 60 done",
        );
        killPid(victim);
        const killedAt = Date.now();
        await waitUntil(() => !alive(victim), 5000, "the victim to die");
        const atKill = await readLedger(setup.ledger);
        const inFlight = [...openJobs(atKill)].filter(([, pid]) => pid === victim).map(([n]) => n);
        assert.ok(inFlight.length > 0, "the victim held jobs when it was killed");

        const lines = await waitForLedger(setup.ledger, range(jobs), 30_000);
        const summary = summarize(lines, range(jobs));
        assert.deepEqual(summary.lost, [], "no job lost");
        const victimJobs = new Set(atKill.filter((l) => l.pid === victim).map((l) => l.n));
        assert.deepEqual(
          summary.duplicates.filter((n) => !victimJobs.has(n)),
          [],
          "only the killed worker's jobs ran twice",
        );
        assert.ok(summary.duplicates.length <= 4, "duplicates <= jobs in flight (concurrency 4)");
        let recovery = 0;
        for (const n of inFlight) {
          const again = summary.byJob.get(n)!.find((l) => l.p === "s" && l.pid !== victim);
          assert.ok(again, `job ${n} ran again`);
          recovery = Math.max(recovery, again.t - killedAt);
        }
        assert.ok(
          recovery <= RETRY_AFTER_S * 1000 + 1000,
          `in-flight jobs back within retry_after + 1 s (took ${recovery} ms)`,
        );
        await service.waitFor(new RegExp(`worker pid ${victim} for kill exited`));
        figure("1 SIGKILL worker", name, {
          jobs,
          lost: summary.lost.length,
          duplicates: summary.duplicates.length,
          recovery: `${(recovery / 1000).toFixed(2)} s (${inFlight.length} in flight)`,
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
    name: `faults ${name}: SIGTERM of the queue service during a 2,000-job run drains cleanly`,
    ...options,
    fn: async () => {
      const jobs = 2000;
      const timeoutS = 10;
      const setup = await setUp(name, {
        name: "term",
        options: `priority: 1, processes: 2, timeout: ${timeoutS}, tries: 3, retry_after: 60`,
        worker: "sleep: 0.2, concurrency: 8",
      });
      let service = new Running("queue-cmd", ["-start", `-config=${setup.config}`]);
      try {
        await service.waitFor(/queue service started: 2 worker processes/);
        await setup.push(0, jobs, { waitMs: 30 });
        await waitUntil(
          async () => (await readLedger(setup.ledger)).filter((l) => l.p === "e").length >= 400,
          60_000,
          "400 jobs done",
        );
        const pids = service.workerPids();
        Deno.kill(service.child.pid, "SIGTERM");
        const termAt = Date.now();
        const status = await service.exit(timeoutS * 1000 + 5000);
        const exitMs = Date.now() - termAt;
        assert.equal(status.code, 0, service.log);
        for (const pid of pids) assert.equal(alive(pid), false, `worker ${pid} exited`);
        const afterTerm = await readLedger(setup.ledger);
        assert.deepEqual([...openJobs(afterTerm).keys()], [], "every started job finished");
        const finishing = afterTerm.filter((l) => l.p === "e" && l.t >= termAt).length;
        assert.ok(finishing > 0, "jobs in flight at SIGTERM finished after it");
        const done = new Set(afterTerm.filter((l) => l.p === "e").map((l) => l.n));
        assert.ok(done.size < jobs, "the service stopped mid-run");
        const manager = await setup.manager();
        const stats = await manager.stats("term");
        assert.equal(stats.reserved, 0, "nothing left reserved");
        assert.equal(stats.ready + stats.delayed, jobs - done.size, "the rest wait untouched");

        service = new Running("queue-cmd", ["-start", `-config=${setup.config}`]);
        const lines = await waitForLedger(setup.ledger, range(jobs), 60_000);
        const summary = summarize(lines, range(jobs));
        assert.deepEqual(summary.lost, [], "no job lost");
        assert.deepEqual(summary.duplicates, [], "no job ran twice");
        assert.ok(lines.every((l) => l.a === 1), "no job was released half-done");
        figure("2 SIGTERM service", name, {
          jobs,
          lost: 0,
          duplicates: 0,
          recovery: `exit ${(exitMs / 1000).toFixed(2)} s, ${finishing} finished after SIGTERM`,
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

/** Jobs started and not ended, by number -> the pid running them. */
function openJobs(lines: { n: number; p: string; pid: number; a: number }[]): Map<number, number> {
  const open = new Map<number, number>();
  for (const line of lines) {
    const key = line.n;
    if (line.p === "s") open.set(key, line.pid);
    else if (open.get(key) === line.pid) open.delete(key);
  }
  return open;
}
