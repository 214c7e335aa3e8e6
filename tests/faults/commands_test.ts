/**
 * Scenario 10, per store: `queue-cmd -clear` and `queue-cmd -stop` issued while
 * the queue service is processing leave a consistent state (nothing ready,
 * delayed or reserved after -clear; every started job finished and nothing left
 * reserved after -stop) and crash no worker.
 */

import assert from "node:assert/strict";
import { sleep, waitUntil } from "../_services.ts";
import { alive, run, Running } from "../cli/_cli.ts";
import { figure, range, readLedger } from "./_ledger.ts";
import { setUp } from "./_setup.ts";
import { STORES } from "./_stores.ts";

const options = { sanitizeOps: false, sanitizeResources: false };

for (const name of STORES) {
  Deno.test({
    name: `faults ${name}: -clear and -stop while processing leave a consistent state`,
    ...options,
    fn: async () => {
      const setup = await setUp(name, {
        name: "cs",
        options: "priority: 1, processes: 2, timeout: 10, tries: 3, retry_after: 30",
        worker: "sleep: 0.2, concurrency: 4",
      });
      const service = new Running("queue-cmd", ["-start", `-config=${setup.config}`]);
      const ended = async (from = 0) =>
        (await readLedger(setup.ledger)).filter((l) => l.p === "e" && l.n >= from).length;
      try {
        await service.waitFor(/queue service started: 2 worker processes/);
        const pids = service.workerPids();
        await setup.push(0, 1000, { waitMs: 20 });
        await waitUntil(async () => (await ended()) >= 100, 30_000, "100 jobs done");
        const cleared = await run("queue-cmd", ["-clear", "-queue=cs", `-config=${setup.config}`]);
        assert.equal(cleared.code, 0, cleared.stderr);
        await sleep(500);
        const manager = await setup.manager();
        const stats = await manager.stats("cs");
        assert.deepEqual([stats.ready, stats.delayed, stats.reserved], [0, 0, 0], "all cleared");
        const afterClear = await ended();
        await sleep(500);
        assert.equal(await ended(), afterClear, "nothing runs after -clear");
        assert.ok(afterClear < 1000, "-clear came mid-run");
        for (const pid of pids) assert.ok(alive(pid), `worker ${pid} survived -clear`);

        await setup.push(1000, 400, { waitMs: 50 });
        await waitUntil(async () => (await ended(1000)) >= 20, 30_000, "new jobs run");
        const stop = await run("queue-cmd", ["-stop", `-config=${setup.config}`]);
        assert.equal(stop.code, 0, stop.stderr);
        assert.equal((await service.exit(15_000)).code, 0);
        const lines = await readLedger(setup.ledger);
        const started = new Set(lines.filter((l) => l.p === "s").map((l) => l.n));
        const done = new Set(lines.filter((l) => l.p === "e").map((l) => l.n));
        assert.deepEqual([...started].filter((n) => !done.has(n)), [], "started jobs finished");
        const after = await manager.stats("cs");
        const doneNew = range(400, 1000).filter((n) => done.has(n)).length;
        assert.equal(after.reserved, 0, "nothing left reserved");
        assert.equal(after.ready, 400 - doneNew, "the rest wait for the next start");
        assert.ok(doneNew < 400, "-stop came mid-run");
        assert.doesNotMatch(service.log, /exited \((code [1-9]|killed)/, "no worker crashed");
        figure("10 -clear/-stop", name, {
          jobs: 1400,
          lost: 0,
          duplicates: lines.filter((l) => l.a > 1).length,
          recovery: `${1000 - afterClear} cleared, ${400 - doneNew} left ready after -stop`,
        });
      } finally {
        service.kill();
        await setup.cleanup();
      }
    },
  });
}
