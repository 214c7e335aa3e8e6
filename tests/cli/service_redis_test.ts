/**
 * End-to-end on Redis (DB 13 of the shared server, under a key prefix of its
 * own): `queue-cmd -start` with two queues of 2 processes, jobs pushed from
 * another process, `queue-status -all -json`, `-clear`, `-stop`.
 */

import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { serviceUp, waitUntil } from "../_services.ts";
import { alive, countFiles, pushJobs, run, Running, tempSetup } from "./_cli.ts";

const PREFIX = `queue_cli_${Deno.pid}`;

const up = await serviceUp("Redis at 127.0.0.1:6379", async () => {
  const client = new Redis({
    host: "127.0.0.1",
    port: 6379,
    db: 13,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
  });
  try {
    await client.connect();
    await client.ping();
  } finally {
    client.disconnect();
  }
});

async function dropKeys(): Promise<void> {
  const client = new Redis({ host: "127.0.0.1", port: 6379, db: 13 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `*${PREFIX}*`, "COUNT", 500);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
}

const CONFIG = `
queue:
  driver: redis
  worker: { sleep: 1 }
  queues:
    high: { priority: 2, processes: 2, timeout: 10, retry_after: 30 }
    default: { priority: 1, processes: 2, timeout: 10, retry_after: 30 }
redis: { host: "127.0.0.1", port: 6379, db: 13, prefix: "${PREFIX}" }
jobs: ["$ROOT/tests/fixtures/cli_jobs.ts"]
`;

Deno.test({
  name:
    "redis: -start with 2 queues x 2 processes drains jobs from another process; status, -clear, -stop",
  ignore: !up,
  fn: async () => {
    const setup = await tempSetup(CONFIG);
    const config = `-config=${setup.config}`;
    const service = new Running("queue-cmd", ["-start", config]);
    try {
      await service.waitFor(/queue service started: 4 worker processes on redis/);
      await Promise.all([
        pushJobs(setup.config, "touch", "high", 10, setup.out),
        pushJobs(setup.config, "touch", "default", 10, setup.out),
      ]);
      await waitUntil(async () => (await countFiles(setup.out)) === 20, 20_000, "20 jobs done");
      await waitUntil(
        async () => {
          const status = await run("queue-status", ["-all", "-json", config]);
          const rows = JSON.parse(status.stdout).queues as Record<string, number>[];
          return rows.filter((r) => ["high", "default"].includes(String(r.queue)))
            .every((r) => r.ready === 0 && r.reserved === 0 && r.failed === 0 && r.workers === 2);
        },
        10_000,
        "status: all done, 2 workers per queue",
      );

      const stop = await run("queue-cmd", ["-stop", config]);
      assert.equal(stop.code, 0, stop.stderr);
      assert.match(stop.stdout, /4 of 4 workers on 1 host\(s\) have stopped\./);
      assert.equal((await service.exit(5000)).code, 0);
      for (const pid of service.workerPids()) assert.equal(alive(pid), false);

      await pushJobs(setup.config, "touch", "low", 5, setup.out);
      const clear = await run("queue-cmd", ["-clear", "-queue=low", config]);
      assert.equal(clear.stdout.trim(), 'Cleared 5 jobs from queue "low".');
    } finally {
      service.kill();
      await setup.cleanup();
      await dropKeys();
    }
  },
});
