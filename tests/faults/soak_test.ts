/**
 * Scenario 11: a soak through one in-process worker on Redis (the fastest real
 * store; the memory driver when Redis is down). QUEUE_SOAK_JOBS sets the size;
 * without it: 20,000 (in `deno task test`), 200,000 under `deno task test:faults`
 * (which sets QUEUE_SOAK_DEFAULT). Checks: lost 0,
 * no duplicate, RSS at the end within 20% of RSS after the first 10,000 jobs,
 * and throughput flat (no 10,000-job window under half the first window's rate).
 */

import assert from "node:assert/strict";
import { BaseJob } from "../../src/job.ts";
import { registerJob } from "../../src/job_registry.ts";
import { Manager } from "../../src/manager.ts";
import { MemoryDriver } from "../../src/drivers/memory.ts";
import { Worker } from "../../src/worker.ts";
import { waitUntil } from "../_services.ts";
import { figure } from "./_ledger.ts";
import { deleteRedisPrefix, REDIS, storeUp } from "./_stores.ts";

const JOBS = Number(
  Deno.env.get("QUEUE_SOAK_JOBS") ?? Deno.env.get("QUEUE_SOAK_DEFAULT") ?? 20_000,
);
const WINDOW = 10_000;
const runs = new Uint8Array(JOBS);

/** Counts its run in the ledger `runs` (outside the queue). */
class SoakJob extends BaseJob {
  /** The job's number. */
  n = 0;
  /** Records the run. */
  handle(): void {
    runs[this.n]++;
  }
}
registerJob(SoakJob, "FaultsSoakJob");

Deno.test({
  name: `faults soak: ${JOBS} jobs through one worker, RSS and throughput flat`,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const redis = storeUp("redis");
    const prefix = `faultssoak${crypto.randomUUID().slice(0, 8)}`;
    const manager = redis
      ? new Manager({
        driver: "redis",
        options: { connection: `redis://${REDIS.host}:${REDIS.port}/${REDIS.db}`, queue: "soak" },
      })
      : new Manager({ driver: "memory" }, { driver: new MemoryDriver() });
    if (redis) manager.config.redis.prefix = prefix;
    let done = 0;
    const marks: { at: number; rss: number; heap: number }[] = [];
    const worker = new Worker(manager, ["soak"], {
      sleep: 500,
      memory: 0,
      heartbeatMs: 0,
      concurrency: 16,
      onEvent: (event) => {
        if (event.type !== "done") return;
        done++;
        if (done % WINDOW === 0) {
          const usage = Deno.memoryUsage();
          marks.push({ at: performance.now(), rss: usage.rss, heap: usage.heapUsed });
        }
      },
    });
    try {
      await manager.connect();
      const started = performance.now();
      const running = worker.start();
      for (let from = 0; from < JOBS; from += 5000) {
        const jobs = [];
        for (let n = from; n < Math.min(JOBS, from + 5000); n++) {
          jobs.push(Object.assign(new SoakJob({ queue: "soak" }), { n }));
        }
        await manager.pushBulk(jobs);
        // Keep the backlog bounded, so the store's size does not grow with JOBS.
        await waitUntil(() => done >= from - 10_000, 120_000, "the worker to keep up");
      }
      await waitUntil(() => done >= JOBS, 600_000, "every soak job done");
      await worker.stop();
      await running;
      const lost = runs.filter((count) => count === 0).length;
      const twice = runs.filter((count) => count > 1).length;
      assert.equal(lost, 0, "no job lost");
      assert.equal(twice, 0, "no job ran twice");
      const first = marks[0].rss;
      const last = marks.at(-1)!.rss;
      const rates = marks.map((mark, i) =>
        WINDOW / ((mark.at - (marks[i - 1]?.at ?? started)) / 1000)
      );
      const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
      console.log(`rates per ${WINDOW}: ${rates.map((r) => r.toFixed(0)).join(", ")} jobs/s`);
      console.log(`rss/heap MB: ${marks.map((m) => `${mb(m.rss)}/${mb(m.heap)}`).join(", ")}`);
      if (marks.length > 1) {
        assert.ok(last <= first * 1.2, `RSS ${mb(last)} MB at the end vs ${mb(first)} MB`);
        const steady = rates.slice(1);
        assert.ok(
          Math.min(...steady) >= 0.5 * rates[1 < rates.length ? 1 : 0],
          `throughput flat: ${rates.map((r) => r.toFixed(0)).join(", ")}`,
        );
      }
      figure("11 soak", redis ? "redis" : "memory", {
        jobs: JOBS,
        lost,
        duplicates: twice,
        recovery: `RSS ${mb(first)} -> ${mb(last)} MB; ${rates[0].toFixed(0)} -> ${
          rates.at(-1)!.toFixed(0)
        } jobs/s`,
      });
    } finally {
      await worker.stop().catch(() => {});
      await manager.clear("soak").catch(() => {});
      await manager.close();
      if (redis) await deleteRedisPrefix(prefix);
    }
  },
});
