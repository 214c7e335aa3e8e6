/**
 * Scenario 4: the connections to MariaDB and to Redis are cut and restored
 * through the tests' own TCP proxy (drop, hang, slow) while a `worker` process
 * runs and this process pushes: the worker survives and catches up; a push
 * during the cut fails with an error naming host:port (or a timeout) or waits
 * and succeeds; lost = 0 among acknowledged pushes.
 */

import assert from "node:assert/strict";
import { sleep } from "../_services.ts";
import { alive, Running } from "../cli/_cli.ts";
import { LedgerJob } from "../fixtures/faults_jobs.ts";
import { FaultProxy, type ProxyMode } from "./_proxy.ts";
import { figure, readLedger, summarize, waitForLedger } from "./_ledger.ts";
import { setUp } from "./_setup.ts";
import { MYSQL, REDIS, type StoreName, storeUp } from "./_stores.ts";

const options = { sanitizeOps: false, sanitizeResources: false };
const PHASES: [ProxyMode, number][] = [
  ["pass", 800],
  ["drop", 2000],
  ["pass", 1500],
  ["hang", 2000],
  ["pass", 1500],
  ["slow", 1500],
  ["pass", 1000],
  ["blackhole", 2000],
  ["pass", 3000],
];

for (const name of ["mysql", "redis"] as StoreName[]) {
  Deno.test({
    name: `faults ${name}: connection dropped, hung and slowed through a proxy; no acked push lost`,
    ignore: !storeUp(name),
    ...options,
    fn: async () => {
      const proxy = new FaultProxy(name === "mysql" ? MYSQL : REDIS);
      const setup = await setUp(name, {
        name: "cut",
        options: "priority: 1, timeout: 10, tries: 5, retry_after: 3",
        worker: "sleep: 0.3, concurrency: 2",
      }, { host: "127.0.0.1", port: proxy.port });
      const worker = new Running("worker", [`-config=${setup.config}`]);
      const acked: number[] = [];
      const errors = new Map<string, number>();
      const restored: Record<string, number> = {};
      let producing = true;
      try {
        await worker.waitFor(/serving cut/);
        const manager = await setup.manager();
        const produce = (async () => {
          for (let n = 0; producing; n++) {
            const job = Object.assign(new LedgerJob({ queue: "cut" }), {
              ledger: setup.ledger,
              n,
            });
            try {
              await Promise.race([
                manager.push(job),
                sleep(5000).then(() => {
                  throw new Error("push still waiting after 5 s");
                }),
              ]);
              acked.push(n);
            } catch (error) {
              const message = (error as Error).message.replace(/\d+ ms/, "N ms");
              errors.set(message, (errors.get(message) ?? 0) + 1);
              await sleep(50);
            }
            await sleep(10);
          }
        })();
        let previous: ProxyMode = "pass";
        for (const [mode, ms] of PHASES) {
          if (mode === "pass" && previous !== "pass") restored[previous] = Date.now();
          proxy.set(mode);
          previous = mode;
          await sleep(ms);
        }
        producing = false;
        await produce;
        const t0 = Date.now();
        console.log(`phases done; waiting for ${acked.length} acked jobs`);
        const lines = await waitForLedger(setup.ledger, acked, 40_000).catch((error) => {
          throw new Error(`${(error as Error).message}\nworker log:\n${worker.log.slice(-4000)}`);
        });
        console.log(`ledger complete after ${Date.now() - t0} ms`);
        const summary = summarize(lines, acked);
        assert.deepEqual(summary.lost, [], "no acknowledged push lost");
        assert.ok(acked.length > 100, `pushes went through (${acked.length})`);
        assert.ok(alive(worker.child.pid), `the worker process is still running:\n${worker.log}`);
        const pids = new Set(lines.map((l) => l.pid));
        assert.equal(pids.size, 1, "one worker process did all the work: it survived");
        for (const message of errors.keys()) {
          assert.match(
            message,
            new RegExp(`127\\.0\\.0\\.1:${proxy.port}|timed? ?out|still waiting`, "i"),
            `a clear error: ${message}`,
          );
        }
        const all = await readLedger(setup.ledger);
        const recovery = Object.entries(restored).map(([mode, at]) => {
          const first = all.filter((l) => l.p === "e" && l.t >= at).map((l) => l.t);
          return `${mode} ${((Math.min(...first) - at) / 1000).toFixed(2)} s`;
        }).join(", ");
        console.log(`push errors: ${JSON.stringify([...errors])}`);
        figure("4 proxy drop/hang/slow", name, {
          jobs: acked.length,
          lost: 0,
          duplicates: summary.duplicates.length,
          recovery: `${recovery}; ${
            [...errors.values()].reduce((a, b) => a + b, 0)
          } pushes refused`,
        });
        Deno.kill(worker.child.pid, "SIGTERM");
        assert.equal((await worker.exit(15_000)).code, 0, worker.log);
      } finally {
        producing = false;
        worker.kill();
        proxy.close();
        await setup.cleanup();
      }
    },
  });
}
