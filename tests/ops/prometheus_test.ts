import assert from "node:assert/strict";
import parsePrometheus from "parse-prometheus-text-format";
import Exposition from "exposition";
import { JobRegistry } from "../../src/job_registry.ts";
import { prometheusText, renderPrometheus } from "../../src/ops/prometheus.ts";
import { collectSnapshot } from "../../src/ops/snapshot.ts";
import { availableStores, managerFor } from "./_stores.ts";
import { runLedger } from "./_run.ts";

interface ParsedFamily {
  name: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string> }[];
}

/** Parses with the strict parser and returns one sample's value by family and queue. */
function parse(text: string): (name: string, queue?: string) => number {
  const families = parsePrometheus(text) as ParsedFamily[];
  return (name, queue) => {
    const family = families.find((item) => item.name === name);
    assert.ok(family, `family ${name} is missing`);
    const sample = family.metrics.find((item) =>
      queue === undefined || item.labels?.queue === queue
    );
    assert.ok(sample?.value !== undefined, `${name}{queue="${queue}"} is missing`);
    return Number(sample.value);
  };
}

for (const store of await availableStores()) {
  Deno.test(`prometheus (${store.name}): processed counter matches the ledger of a 1,000-job run`, async () => {
    const handle = await store.open();
    const registry = new JobRegistry();
    const manager = managerFor(handle, registry);
    try {
      const ledger = await runLedger(manager, registry, "default", { ok: 990, bad: 10 });
      assert.equal(ledger.done.size + ledger.failed.size, 1000);
      const text = await prometheusText(manager);
      const value = parse(text);
      assert.equal(value("queue_jobs_processed_total", "default"), ledger.done.size);
      assert.equal(value("queue_jobs_failed_total", "default"), ledger.failed.size);
      assert.equal(value("queue_jobs_failed", "default"), 10);
      assert.equal(value("queue_jobs_ready", "default"), 0);
      assert.equal(value("queue_jobs_processed_total", "high"), 0);
      const summary = (Exposition.parse(text) as ParsedFamily[])
        .find((family) => family.name === "queue_job_duration_seconds");
      assert.equal(summary?.type, "SUMMARY");
      const quantile = (q: string) =>
        Number(
          summary!.metrics.find((m) => m.labels?.queue === "default" && m.labels?.quantile === q)
            ?.value,
        );
      assert.ok(quantile("0.5") >= 0 && quantile("0.5") <= quantile("0.95"), "p50 <= p95");
    } finally {
      await handle.cleanup();
    }
  });

  Deno.test(`prometheus (${store.name}): gauges show ready, delayed, paused and live workers`, async () => {
    const handle = await store.open();
    const manager = managerFor(handle);
    try {
      for (let i = 0; i < 3; i++) await manager.pushRaw("default", `r${i}`);
      for (let i = 0; i < 2; i++) await manager.pushRaw("default", `d${i}`, { delay: 60_000 });
      await manager.pushRaw("reports", "x");
      await manager.pause("low");
      await handle.driver.heartbeat({
        id: "host:1:abc",
        host: "host",
        pid: 1,
        queues: ["high", "default"],
        startedAt: Date.now(),
        lastBeatAt: Date.now(),
        processed: 0,
        failed: 0,
        currentJob: null,
      });
      const value = parse(await prometheusText(manager));
      assert.equal(value("queue_jobs_ready", "default"), 3);
      assert.equal(value("queue_jobs_delayed", "default"), 2);
      assert.equal(
        value("queue_jobs_ready", "reports"),
        1,
        "unconfigured queues that hold jobs appear",
      );
      assert.equal(value("queue_paused", "low"), 1);
      assert.equal(value("queue_paused", "default"), 0);
      assert.equal(value("queue_workers_alive", "default"), 1);
      assert.equal(value("queue_workers_alive", "low"), 0);
      assert.equal(value("queue_workers_alive_total"), 1);
      assert.ok(value("queue_oldest_ready_age_seconds", "default") >= 0);
    } finally {
      await handle.cleanup();
    }
  });
}

Deno.test("prometheus: empty duration quantiles are NaN and the output stays parseable", async () => {
  const stores = await availableStores();
  const handle = await stores[0].open();
  try {
    const snapshot = await collectSnapshot(managerFor(handle));
    const text = renderPrometheus(snapshot);
    assert.match(text, /queue_job_duration_seconds\{queue="default",quantile="0.5"\} NaN/);
    assert.doesNotThrow(() => parsePrometheus(text));
    assert.ok(text.endsWith("\n"));
  } finally {
    await handle.cleanup();
  }
});

Deno.test("prometheus: the strict parser rejects a malformed line, so the tests above can fail", () => {
  assert.throws(() => parsePrometheus("# TYPE x gauge\nx{queue=a} 1\n"));
});
