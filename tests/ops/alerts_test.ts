import assert from "node:assert/strict";
import type { AlertRule, AlertsConfig } from "../../src/config_types.ts";
import { MemoryDriver } from "../../src/drivers/memory.ts";
import type { WorkerBeat } from "../../src/drivers/driver.ts";
import { AlertMonitor, type AlertNotification, checkAlerts } from "../../src/ops/alerts.ts";
import type { OpsSource } from "../../src/ops/snapshot.ts";
import { freePort } from "../_services.ts";
import { availableStores, managerFor, opsConfig } from "./_stores.ts";

function rule(
  kind: AlertRule["kind"],
  threshold: number,
  extra: Partial<AlertRule> = {},
): AlertRule {
  return {
    name: `${kind}-rule`,
    queue: "default",
    kind,
    threshold,
    windowMs: 3_600_000,
    severity: "warning",
    ...extra,
  };
}

/** A test webhook: records JSON bodies; answers 500 to the first `failFirst` requests. */
function webhook(
  failFirst = 0,
): { url: string; bodies: AlertNotification[]; requests: () => number; close(): Promise<void> } {
  const bodies: AlertNotification[] = [];
  let requests = 0;
  const port = freePort();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, onListen: () => {} },
    async (request) => {
      requests++;
      const body = await request.json();
      if (requests <= failFirst) return new Response("busy", { status: 500 });
      bodies.push(body);
      return new Response("ok");
    },
  );
  return {
    url: `http://127.0.0.1:${port}/hook`,
    bodies,
    requests: () => requests,
    close: () => server.shutdown(),
  };
}

function alerts(rules: AlertRule[], extra: Partial<AlertsConfig> = {}): AlertsConfig {
  return { intervalMs: 50, rules, ...extra };
}

for (const store of await availableStores()) {
  Deno.test(`alerts (${store.name}): a webhook gets one firing and one resolved notification`, async () => {
    const handle = await store.open();
    const manager = managerFor(handle);
    const hook = webhook();
    const monitor = new AlertMonitor(
      manager,
      alerts([rule("backlog", 2, { severity: "critical" })], { webhook: hook.url }),
    );
    try {
      monitor.start();
      for (let i = 0; i < 3; i++) await manager.pushRaw("default", `job-${i}`);
      await waitFor(() => hook.bodies.length >= 1);
      await sleepTicks(monitor, 3); // still firing: nothing repeats
      assert.equal(hook.bodies.length, 1);
      assert.equal(hook.bodies[0].status, "firing");
      assert.equal(hook.bodies[0].severity, "critical");
      assert.equal(hook.bodies[0].value, 3);
      await manager.clear("default");
      await waitFor(() => hook.bodies.length >= 2);
      await sleepTicks(monitor, 3);
      assert.deepEqual(hook.bodies.map((body) => body.status), ["firing", "resolved"]);
      assert.equal(hook.bodies[1].since, hook.bodies[0].at);
    } finally {
      await monitor.stop();
      await hook.close();
      await handle.cleanup();
    }
  });

  Deno.test(`alerts (${store.name}): checkAlerts exits 0, 1 and 2`, async () => {
    const handle = await store.open();
    const manager = managerFor(handle);
    try {
      const rules = [
        rule("backlog", 1),
        rule("backlog", 4, { name: "backlog-critical", severity: "critical" }),
      ];
      const ok = await checkAlerts(manager, rules);
      assert.equal(ok.code, 0);
      assert.deepEqual(ok.lines, ["OK: 2 rules, none firing"]);
      for (let i = 0; i < 2; i++) await manager.pushRaw("default", `job-${i}`);
      const warning = await checkAlerts(manager, rules);
      assert.equal(warning.code, 1);
      assert.deepEqual(warning.lines, [
        "WARNING backlog-rule: queue default has 2 waiting jobs (threshold 1)",
      ]);
      for (let i = 2; i < 5; i++) await manager.pushRaw("default", `job-${i}`);
      const critical = await checkAlerts(manager, rules);
      assert.equal(critical.code, 2);
      assert.equal(critical.lines.length, 2);
      assert.ok(critical.lines.some((line) => line.startsWith("CRITICAL backlog-critical: ")));
    } finally {
      await handle.cleanup();
    }
  });
}

Deno.test("alerts: checkAlerts gives 3 (UNKNOWN) when the store cannot be read", async () => {
  const driver = new MemoryDriver();
  const manager = managerFor({ driver, config: opsConfig("memory") });
  await manager.connect();
  const refused = () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6379"));
  const broken: OpsSource = {
    config: manager.config,
    driver,
    stats: refused,
    queues: () => manager.queues(),
    workers: refused,
    metrics: refused,
    failedJobs: refused,
    clear: refused,
    retryFailed: refused,
    forgetFailed: refused,
    pause: refused,
    resume: refused,
  };
  const result = await checkAlerts(broken, [rule("backlog", 1)]);
  assert.equal(result.code, 3);
  assert.match(result.lines[0], /^UNKNOWN: .*ECONNREFUSED/);
});

Deno.test("alerts: oldest_wait, failed-in-window and no_workers rules", async () => {
  let now = Date.UTC(2030, 0, 1, 12, 0, 30);
  const driver = new MemoryDriver({ clock: () => now });
  const manager = managerFor({ driver, config: opsConfig("memory") });
  const rules = [
    rule("oldest_wait", 60_000),
    rule("failed", 1, { windowMs: 10 * 60_000 }),
    rule("no_workers", 0, { queue: "*", severity: "critical" }),
  ];
  await manager.pushRaw("default", "waiting");
  now += 61_000;
  for (const id of ["a", "b"]) {
    await driver.push({ id, queue: "default", payload: "{}" });
  }
  const jobs = await driver.reserve({
    queues: [{ name: "default", retryAfterMs: 60_000 }],
    count: 3,
  });
  for (const job of jobs.filter((job) => job.id !== jobs[0].id)) {
    await driver.fail(job, { error: "boom" });
  }
  let result = await checkAlerts(manager, rules);
  const firing = result.findings.filter((f) => f.firing).map((f) => `${f.rule.kind}:${f.queue}`)
    .sort();
  // "waiting" was reserved first (oldest), so the two failed jobs are a and b; no worker serves high or default.
  assert.deepEqual(firing, ["failed:default", "no_workers:default", "no_workers:high"]);
  assert.equal(result.code, 2);
  await driver.release(jobs[0], 0);
  now += 1000;
  await driver.heartbeat(workerBeat(now));
  now += 11 * 60_000; // the failures leave the 10-minute window; the released job has waited 11 min
  await driver.heartbeat(workerBeat(now));
  result = await checkAlerts(manager, rules);
  assert.deepEqual(result.findings.filter((f) => f.firing).map((f) => f.rule.kind), [
    "oldest_wait",
  ]);
  assert.equal(result.code, 1);
});

Deno.test("alerts: webhook retries after a 500, and a command gets the alert JSON on stdin", async () => {
  const driver = new MemoryDriver();
  const manager = managerFor({ driver, config: opsConfig("memory") });
  const hook = webhook(1);
  const dir = await Deno.makeTempDir({ prefix: "queue_ops_" });
  const sink = `${dir}/alerts.jsonl`;
  const fixture = new URL("../fixtures/ops_alert_sink.ts", import.meta.url).pathname;
  const command = [Deno.execPath(), "run", "--allow-write", fixture, sink];
  const logged: string[] = [];
  const logger = {
    warn: (m: string) => logged.push(`warn ${m}`),
    info: (m: string) => logged.push(`info ${m}`),
    error: (m: string) => logged.push(`error ${m}`),
  };
  const monitor = new AlertMonitor(
    manager,
    alerts([rule("backlog", 0)], { webhook: hook.url, command }),
    {
      retryDelayMs: 10,
      timeoutMs: 20_000,
      logger,
    },
  );
  try {
    await manager.pushRaw("default", "x");
    const sent = await monitor.evaluate();
    assert.equal(sent.length, 1);
    assert.equal(hook.requests(), 2, "one failed request, one retry");
    assert.equal(hook.bodies.length, 1);
    const lines = (await Deno.readTextFile(sink)).trim().split("\n").map((line) =>
      JSON.parse(line)
    );
    assert.equal(lines.length, 1);
    assert.equal(lines[0].status, "firing");
    assert.equal(lines[0].rule, "backlog-rule");
    assert.ok(
      logged.some((line) => line.startsWith("warn Alert firing: queue default has 1 waiting jobs")),
    );
    assert.deepEqual(await monitor.evaluate(), [], "no repeat while firing");
  } finally {
    await monitor.stop();
    await hook.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("alerts: a failing command and an unreachable webhook are logged, not thrown", async () => {
  const driver = new MemoryDriver();
  const manager = managerFor({ driver, config: opsConfig("memory") });
  const dir = await Deno.makeTempDir({ prefix: "queue_ops_" });
  const fixture = new URL("../fixtures/ops_alert_sink.ts", import.meta.url).pathname;
  const errors: string[] = [];
  const logger = { warn: () => {}, info: () => {}, error: (m: string) => errors.push(m) };
  const monitor = new AlertMonitor(
    manager,
    alerts([rule("backlog", 0)], {
      webhook: `http://user:secret@127.0.0.1:${freePort()}/hook?key=abc`,
      command: [Deno.execPath(), "run", "--allow-write", fixture, `${dir}/out.jsonl`, "fail"],
    }),
    { retries: 1, retryDelayMs: 10, timeoutMs: 20_000, logger },
  );
  try {
    await manager.pushRaw("default", "x");
    assert.equal((await monitor.evaluate()).length, 1);
    assert.equal(errors.length, 2);
    assert.ok(errors.some((e) => e.includes("failed 2 times")));
    assert.ok(errors.some((e) => e.includes("exited with 3")));
    assert.ok(
      errors.every((e) => !e.includes("secret") && !e.includes("key=abc")),
      "no secrets in logs",
    );
  } finally {
    await monitor.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms.`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function sleepTicks(monitor: AlertMonitor, ticks: number): Promise<void> {
  for (let i = 0; i < ticks; i++) await monitor.evaluate();
}

/** A live worker serving high and default, beating at `now`. */
function workerBeat(now: number): WorkerBeat {
  return {
    id: "w1",
    host: "h",
    pid: 1,
    queues: ["high", "default"],
    startedAt: now,
    lastBeatAt: now,
    processed: 0,
    failed: 0,
    currentJob: null,
  };
}
