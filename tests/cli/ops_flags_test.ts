/**
 * End-to-end: the operations flags of the real entry points on SQLite —
 * `queue-status -metrics`, `-check`, `-workers`, `-serve`, `queue-cmd
 * -pause`/`-resume` — and the queue service's `http:` and `alerts:` blocks.
 */

import assert from "node:assert/strict";
import parsePrometheus from "parse-prometheus-text-format";
import { loadConfig } from "../../src/config.ts";
import { QueueService } from "../../src/supervisor.ts";
import { Logger } from "../../src/log.ts";
import { freePort, sleep, waitUntil } from "../_services.ts";
import { pushJobs, run, Running, SQLITE_TWO_QUEUES, tempSetup } from "./_cli.ts";

interface Family {
  name: string;
  metrics: { value: string; labels?: Record<string, string> }[];
}

function sample(families: Family[], name: string, queue: string): number {
  const family = families.find((f) => f.name === name);
  assert.ok(family, `metric ${name} is present`);
  const found = family.metrics.find((m) => m.labels?.queue === queue);
  assert.ok(found, `${name}{queue="${queue}"} is present`);
  return Number(found.value);
}

/** Writes a second config file next to the first, with the same store and `extra` appended. */
async function variant(dir: string, name: string, extra: string): Promise<string> {
  const path = `${dir}/${name}.yaml`;
  const base = await Deno.readTextFile(`${dir}/config.yaml`);
  await Deno.writeTextFile(path, base + extra);
  return path;
}

Deno.test("queue-status -metrics prints Prometheus text that a real parser reads", async () => {
  const setup = await tempSetup(SQLITE_TWO_QUEUES);
  try {
    await pushJobs(setup.config, "raw", "high", 3, setup.out);
    const result = await run("queue-status", ["-metrics", `-config=${setup.config}`]);
    assert.equal(result.code, 0, result.stderr);
    const families = parsePrometheus(result.stdout) as Family[];
    assert.equal(sample(families, "queue_jobs_ready", "high"), 3);
    assert.equal(sample(families, "queue_jobs_ready", "default"), 0);
    assert.equal(sample(families, "queue_paused", "high"), 0);
  } finally {
    await setup.cleanup();
  }
});

Deno.test("queue-status -check exits 0, 1 and 2 with one line per firing rule", async () => {
  const setup = await tempSetup(SQLITE_TWO_QUEUES);
  try {
    await pushJobs(setup.config, "raw", "high", 3, setup.out);
    const rule = (threshold: number, severity: string) => `
alerts:
  rules:
    - { name: high_backlog, queue: high, kind: backlog, threshold: ${threshold}, severity: ${severity} }
    - { name: default_backlog, queue: default, kind: backlog, threshold: 0, severity: critical }
`;
    const cases: [string, number, RegExp][] = [
      [await variant(setup.dir, "ok", rule(10, "critical")), 0, /^OK: 2 rules, none firing\n$/],
      [await variant(setup.dir, "warn", rule(2, "warning")), 1, /^WARNING high_backlog: .+\n$/],
      [await variant(setup.dir, "crit", rule(2, "critical")), 2, /^CRITICAL high_backlog: .+\n$/],
    ];
    for (const [config, code, output] of cases) {
      const result = await run("queue-status", ["-check", `-config=${config}`]);
      assert.equal(result.code, code, `${config}: ${result.stdout}${result.stderr}`);
      assert.match(result.stdout, output);
    }
    const missing = await run("queue-status", ["-check", `-config=${setup.dir}/none.yaml`]);
    assert.equal(missing.code, 3, missing.stderr);
    assert.match(missing.stdout, /^UNKNOWN: Config file .*none\.yaml cannot be read/);
  } finally {
    await setup.cleanup();
  }
});

Deno.test("the new flags refuse bad combinations and values with exit 2 and one sentence", async () => {
  const cases: [string, string[], RegExp][] = [
    ["queue-status", ["-metrics", "-check"], /^queue-status: Flags -metrics and -check cannot/],
    ["queue-status", ["-serve", "-all"], /^queue-status: Flags -serve and -all cannot be used/],
    ["queue-status", ["-check", "-json"], /^queue-status: Flag -json does not work with -check\./],
    ["queue-status", ["-workers=maybe"], /^queue-status: Flag -workers takes true or false/],
    ["queue-cmd", ["-pause"], /^queue-cmd: Flag -pause needs a value\.$/],
    ["queue-cmd", ["-pause=a b"], /^queue-cmd: Flag -pause needs a queue name of 1-64/],
    ["queue-cmd", ["-pause=x", "-resume=x"], /^queue-cmd: Flags -pause and -resume cannot/],
  ];
  for (const [program, args, pattern] of cases) {
    const result = await run(program, args);
    assert.equal(result.code, 2, `${program} ${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr.trim(), pattern);
    assert.equal(result.stderr.trim().split("\n").length, 1);
  }
  const help = await run("queue-status", ["-help"]);
  for (const flag of ["-workers", "-metrics", "-check", "-serve"]) {
    assert.match(help.stdout, new RegExp(`^  ${flag} `, "m"));
  }
  const cmdHelp = await run("queue-cmd", ["-help"]);
  assert.match(cmdHelp.stdout, /^ {2}-pause=NAME /m);
  assert.match(cmdHelp.stdout, /^ {2}-resume=NAME /m);
});

Deno.test("queue-status -workers lists a running worker and drops it after it exits", async () => {
  const setup = await tempSetup(SQLITE_TWO_QUEUES);
  const worker = new Running("worker", [`-config=${setup.config}`, "-queue=high,default"]);
  try {
    await worker.waitFor(/serving high, default/);
    const pid = worker.child.pid;
    const listed = await run("queue-status", ["-workers", "-json", `-config=${setup.config}`]);
    assert.equal(listed.code, 0, listed.stderr);
    const beats = JSON.parse(listed.stdout).workers as Record<string, unknown>[];
    const mine = beats.find((beat) => beat.pid === pid);
    assert.ok(mine, `worker ${pid} is listed: ${listed.stdout}`);
    assert.deepEqual(mine.queues, ["high", "default"]);
    const table = await run("queue-status", ["-workers", `-config=${setup.config}`]);
    assert.match(table.stdout, /^ID\s+HOST\s+PID\s+QUEUES\s+STARTED\s+LAST BEAT\s+PROCESSED/);
    assert.match(table.stdout, new RegExp(`\\s${pid}\\s+high,default\\s`));
    const all = await run("queue-status", ["-all", "-json", `-config=${setup.config}`]);
    const rows = JSON.parse(all.stdout).queues as { queue: string; workers: number }[];
    assert.deepEqual(rows.map((r) => [r.queue, r.workers]), [["high", 1], ["default", 1]]);

    worker.child.kill("SIGTERM");
    assert.equal((await worker.exit(15_000)).code, 0);
    const after = await run("queue-status", ["-workers", `-config=${setup.config}`]);
    assert.equal(after.code, 0, after.stderr);
    assert.match(after.stdout, /^No live workers on sqlite /);
  } finally {
    worker.kill();
    await setup.cleanup();
  }
});

Deno.test("queue-cmd -pause and -resume change queue-status -queue", async () => {
  const setup = await tempSetup(SQLITE_TWO_QUEUES);
  try {
    const status = async () => {
      const result = await run("queue-status", ["-queue=default", `-config=${setup.config}`]);
      assert.equal(result.code, 0, result.stderr);
      return result.stdout;
    };
    assert.match(await status(), /^Paused:\s+no$/m);
    const pause = await run("queue-cmd", ["-pause=default", `-config=${setup.config}`]);
    assert.equal(pause.code, 0, pause.stderr);
    assert.match(pause.stdout, /^Paused queue "default": .*\.\n$/);
    assert.match(await status(), /^Paused:\s+yes$/m);
    const resume = await run("queue-cmd", ["-resume=default", `-config=${setup.config}`]);
    assert.equal(resume.code, 0, resume.stderr);
    assert.match(resume.stdout, /^Resumed queue "default": .*\.\n$/);
    assert.match(await status(), /^Paused:\s+no$/m);
  } finally {
    await setup.cleanup();
  }
});

Deno.test("queue-status -serve answers /api/overview and /metrics until SIGTERM", async () => {
  const setup = await tempSetup(SQLITE_TWO_QUEUES + `http: { listen: "127.0.0.1:0" }\n`);
  const server = new Running("queue-status", ["-serve", `-config=${setup.config}`]);
  try {
    await pushJobs(setup.config, "raw", "default", 2, setup.out);
    const address = /Dashboard on (http:\/\/[^/\s]+)\//;
    await waitUntil(() => address.test(server.out), 20_000, "the URL");
    const url = server.out.match(address)![1];
    const overview = await fetch(`${url}/api/overview`);
    assert.equal(overview.status, 200);
    const body = await overview.json();
    assert.equal(body.readOnly, true);
    const queue = body.queues.find((q: { name: string }) => q.name === "default");
    assert.equal(queue.ready, 2);
    const metrics = await fetch(`${url}/metrics`);
    assert.equal(metrics.status, 200);
    const families = parsePrometheus(await metrics.text()) as Family[];
    assert.equal(sample(families, "queue_jobs_ready", "default"), 2);

    server.child.kill("SIGTERM");
    assert.equal((await server.exit(10_000)).code, 0);
    await assert.rejects(fetch(`${url}/metrics`));
  } finally {
    server.kill();
    await setup.cleanup();
  }
});

Deno.test("the queue service with an http block serves /metrics until -stop", async () => {
  const setup = await tempSetup(SQLITE_TWO_QUEUES + `http: { listen: "127.0.0.1:0" }\n`);
  const service = new Running("queue-cmd", ["-start", `-config=${setup.config}`]);
  try {
    await service.waitFor(/queue service started: 2 worker processes/);
    const url = service.log.match(/Dashboard and \/metrics on (http:\S+)/)![1];
    await waitUntil(
      async () => {
        const families = parsePrometheus(await (await fetch(`${url}/metrics`)).text()) as Family[];
        return sample(families, "queue_workers_alive", "high") === 1;
      },
      20_000,
      "the worker of high in /metrics",
    );

    const stop = await run("queue-cmd", ["-stop", `-config=${setup.config}`]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await service.exit(15_000)).code, 0);
    await assert.rejects(fetch(`${url}/metrics`));
  } finally {
    service.kill();
    await setup.cleanup();
  }
});

Deno.test("QueueService closes its ops server on stop(), before the process ends", async () => {
  const setup = await tempSetup(`
queue:
  driver: sqlite
  queues:
    parked: { priority: 1, processes: 0 }
sqlite: { path: "$DIR/queue.db" }
http: { listen: "127.0.0.1:${freePort()}" }
`);
  const config = await loadConfig(setup.config);
  const service = new QueueService(config, { logger: new Logger({ level: "error" }) });
  try {
    await service.start();
    const url = `http://${config.http!.listen}`;
    const response = await fetch(`${url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(await response.text(), /queue_jobs_ready\{queue="parked"\} 0/);
    await service.stop();
    await assert.rejects(fetch(`${url}/metrics`));
  } finally {
    await service.stop();
    await setup.cleanup();
  }
});

Deno.test("the queue service's alerts block posts to a webhook once when firing, once resolved", async () => {
  const received: Record<string, unknown>[] = [];
  const sink = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    received.push(await req.json());
    return new Response("ok");
  });
  const setup = await tempSetup(`
queue:
  driver: sqlite
  worker: { sleep: 1 }
  queues:
    default: { priority: 1, processes: 1, timeout: 10, retry_after: 30 }
    parked: { priority: 0, processes: 0 }
sqlite: { path: "$DIR/queue.db" }
alerts:
  interval: 200ms
  webhook: "http://127.0.0.1:${sink.addr.port}/hook"
  rules:
    - { name: parked_backlog, queue: parked, kind: backlog, threshold: 1, severity: critical }
`);
  const service = new Running("queue-cmd", ["-start", `-config=${setup.config}`]);
  try {
    await service.waitFor(/queue service started/);
    await service.waitFor(/alert monitor: 1 rules every 0\.2 s/);
    await pushJobs(setup.config, "raw", "parked", 2, setup.out);
    await waitUntil(() => received.length === 1, 15_000, "the firing alert");
    await sleep(1500); // seven more evaluations while it stays firing
    assert.equal(received.length, 1, "no repeat while it stays firing");
    assert.equal(received[0].status, "firing");
    assert.equal(received[0].rule, "parked_backlog");
    assert.equal(received[0].queue, "parked");
    assert.match(service.log, /Alert firing: /);

    const clear = await run("queue-cmd", ["-clear", "-queue=parked", `-config=${setup.config}`]);
    assert.equal(clear.code, 0, clear.stderr);
    await waitUntil(() => received.length === 2, 15_000, "the resolved alert");
    await sleep(1000);
    assert.equal(received.length, 2);
    assert.equal(received[1].status, "resolved");

    const stop = await run("queue-cmd", ["-stop", `-config=${setup.config}`]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await service.exit(15_000)).code, 0);
  } finally {
    service.kill();
    await sink.shutdown();
    await setup.cleanup();
  }
});
