import assert from "node:assert/strict";
import { MemoryDriver } from "../../src/drivers/memory.ts";
import { JobRegistry } from "../../src/job_registry.ts";
import { collectSnapshot } from "../../src/ops/snapshot.ts";
import { Worker } from "../../src/worker.ts";
import { sleep, waitUntil } from "../_services.ts";
import { availableStores, managerFor, opsConfig, type StoreHandle } from "./_stores.ts";

const ALIVE_MS = 1000;
const WORKER = new URL("../fixtures/ops_worker.ts", import.meta.url).pathname;

/** Starts the worker fixture on the store; resolves with the process and its worker id. */
async function spawnWorker(
  handle: StoreHandle,
  dir: string,
): Promise<{ child: Deno.ChildProcess; id: string }> {
  const configFile = `${dir}/config.json`;
  await Deno.writeTextFile(configFile, JSON.stringify(handle.config));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", WORKER, configFile, "default"],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the worker fixture exited before it was ready: ${text}`);
    text += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return { child, id: text.trim().replace(/^ready /, "") };
}

for (const store of await availableStores()) {
  if (store.shared) {
    Deno.test(`heartbeats (${store.name}): a worker killed with SIGKILL leaves the live list within the limit`, async () => {
      const handle = await store.open();
      const manager = managerFor(handle);
      const dir = await Deno.makeTempDir({ prefix: "queue_ops_" });
      try {
        const { child, id } = await spawnWorker(handle, dir);
        const live = await manager.workers(ALIVE_MS);
        const beat = live.find((worker) => worker.id === id);
        assert.ok(beat, "the child's worker is live");
        assert.deepEqual(beat.queues, ["default"]);
        assert.equal(beat.pid, child.pid);
        assert.equal(
          (await collectSnapshot(manager, { aliveMs: ALIVE_MS })).queues[1].workersAlive,
          1,
        );
        child.kill("SIGKILL");
        const status = await child.status;
        assert.equal(status.signal, "SIGKILL");
        const killedAt = Date.now();
        await waitUntil(
          async () => !(await manager.workers(ALIVE_MS)).some((worker) => worker.id === id),
          ALIVE_MS + 1500,
          "the killed worker to leave the live list",
        );
        assert.ok(Date.now() - killedAt <= ALIVE_MS + 1500);
      } finally {
        await Deno.remove(dir, { recursive: true });
        await handle.cleanup();
      }
    });
  }

  Deno.test(`pause (${store.name}): a paused queue accepts pushes, no worker takes them, resume drains it`, async () => {
    const handle = await store.open();
    const registry = new JobRegistry();
    const done: string[] = [];
    registry.registerRawHandler("default", (job) => void done.push(job.body));
    const manager = managerFor(handle, registry);
    const worker = new Worker(manager, ["default"], { sleep: 50, heartbeatMs: 0, memory: 0 });
    try {
      await manager.pause("default");
      for (let i = 0; i < 3; i++) await manager.pushRaw("default", `p${i}`);
      const running = worker.start();
      await sleep(600);
      const stats = await manager.stats("default");
      assert.equal(stats.paused, true);
      assert.equal(stats.ready, 3, "jobs wait while paused");
      assert.deepEqual(done, []);
      await manager.resume("default");
      await waitUntil(() => done.length === 3, 10_000, "the resumed queue to drain");
      assert.equal((await manager.stats("default")).paused, false);
      await worker.stop();
      await running;
    } finally {
      await worker.stop();
      await handle.cleanup();
    }
  });
}

Deno.test("heartbeats (memory): a worker's beat carries its figures; a silent one drops out after the limit", async () => {
  let now = Date.UTC(2030, 0, 1);
  const driver = new MemoryDriver({ clock: () => now });
  const manager = managerFor({ driver, config: opsConfig("memory") });
  await driver.heartbeat({
    id: "h:7:a",
    host: "h",
    pid: 7,
    queues: ["high", "default"],
    startedAt: now,
    lastBeatAt: 0,
    processed: 12,
    failed: 1,
    currentJob: "job-1",
  });
  let snapshot = await collectSnapshot(manager, { aliveMs: ALIVE_MS });
  assert.equal(snapshot.workers.length, 1);
  assert.equal(snapshot.workers[0].lastBeatAt, now, "the driver stamps the beat with its clock");
  assert.deepEqual(snapshot.queues.map((queue) => [queue.stats.queue, queue.workersAlive]), [
    ["high", 1],
    ["default", 1],
    ["low", 0],
  ]);
  now += ALIVE_MS + 1;
  snapshot = await collectSnapshot(manager, { aliveMs: ALIVE_MS });
  assert.equal(snapshot.workers.length, 0);
});
