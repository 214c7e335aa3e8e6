/**
 * Scenario 3 at worker level: a redis-server the test started itself
 * (`--appendonly yes --appendfsync always`, temp dir, free port) is stopped
 * and restarted while the queue service's worker processes drain numbered
 * jobs. The workers survive (no process replaced), reconnect by themselves and
 * finish; jobs pushed after the restart are done too; lost 0.
 */

import assert from "node:assert/strict";
import { sleep, waitUntil } from "../_services.ts";
import { Running } from "../cli/_cli.ts";
import { figure, range, readLedger, summarize, waitForLedger } from "./_ledger.ts";
import { OwnRedis, redisServerAvailable } from "./_redis_server.ts";
import { setUp } from "./_setup.ts";

const options = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "faults redis: a Redis restart mid-run is survived by the worker processes; no job lost",
  ignore: !redisServerAvailable,
  ...options,
  fn: async () => {
    const serverDir = await Deno.makeTempDir({ prefix: "queue_faults_redis_server_" });
    const server = new OwnRedis(serverDir);
    await server.start();
    const setup = await setUp("redis", {
      name: "restart",
      options: "priority: 1, processes: 2, timeout: 10, tries: 3, retry_after: 5",
      worker: "sleep: 0.3, concurrency: 4",
    }, { host: "127.0.0.1", port: server.port });
    const service = new Running("queue-cmd", ["-start", `-config=${setup.config}`]);
    const first = 1000, second = 200;
    try {
      await service.waitFor(/queue service started: 2 worker processes/);
      const workers = service.workerPids();
      await setup.push(0, first, { waitMs: 20 });
      await waitUntil(
        async () => (await readLedger(setup.ledger)).filter((l) => l.p === "e").length >= 200,
        30_000,
        "200 jobs done before the stop",
      );
      await server.stop();
      const stoppedAt = Date.now();
      await sleep(1500);
      const endedDuringOutage = (await readLedger(setup.ledger))
        .filter((l) => l.p === "e" && l.t > stoppedAt + 500).length;
      await server.start();
      const restartedAt = Date.now();
      // The producer (this process's Manager) reconnects by itself; meanwhile a
      // push fails fast with a ConnectionError naming host:port, and is retried
      // (as documented). Pushes are idempotent per number in the ledger.
      let refused = 0;
      await waitUntil(
        async () => {
          try {
            await setup.push(first, second, { waitMs: 5 });
            return true;
          } catch (error) {
            assert.match((error as Error).message, new RegExp(`127\\.0\\.0\\.1:${server.port}`));
            refused++;
            await sleep(100);
            return false;
          }
        },
        10_000,
        "a push after the restart",
      );
      const lines = await waitForLedger(setup.ledger, range(first + second), 60_000);
      const summary = summarize(lines, range(first + second));
      assert.deepEqual(summary.lost, [], "no job lost");
      assert.equal(endedDuringOutage, 0, "nothing was acknowledged while Redis was down");
      assert.doesNotMatch(service.log, /worker pid \d+ for restart exited/, "no worker replaced");
      assert.deepEqual(service.workerPids(), workers, "the same worker processes");
      const pids = new Set(lines.map((l) => l.pid));
      assert.ok([...pids].every((pid) => workers.includes(pid)), "only those processes worked");
      const firstAfter = Math.min(
        ...lines.filter((l) => l.p === "e" && l.t >= restartedAt).map((l) => l.t),
      );
      const recovery = (firstAfter - restartedAt) / 1000;
      assert.ok(recovery < 5, `work resumed within 5 s of the restart (${recovery} s)`);
      // Jobs whose handler ended but whose ack was cut may run again: at-least-once.
      assert.ok(summary.duplicates.length <= 8, "duplicates <= jobs in flight (2 x 4)");
      figure("3 Redis restart (workers)", "redis", {
        jobs: first + second,
        lost: summary.lost.length,
        duplicates: summary.duplicates.length,
        recovery: `${
          recovery.toFixed(2)
        } s after the restart, 0 workers replaced, ${refused} pushes refused then retried`,
      });
      Deno.kill(service.child.pid, "SIGTERM");
      assert.equal((await service.exit(15_000)).code, 0, service.log);
    } finally {
      service.kill();
      await setup.cleanup();
      await server.kill();
      await Deno.remove(serverDir, { recursive: true }).catch(() => {});
    }
  },
});
