import assert from "node:assert/strict";
import { MemoryDriver } from "../../src/drivers/memory.ts";
import { ConfigError } from "../../src/errors.ts";
import { isLoopback, parseListen, startOpsServer } from "../../src/ops/dashboard.ts";
import { managerFor, opsConfig } from "./_stores.ts";

const TOKEN = "t0ken-for-tests";

async function setup(token?: string) {
  const driver = new MemoryDriver();
  const config = opsConfig("memory", {
    redis: { password: "hunter2", url: "redis://app:hunter2@cache:6379/0" },
  });
  const manager = managerFor({ driver, config });
  const server = await startOpsServer(manager, { listen: "127.0.0.1:0" }, { token });
  return { driver, manager, server };
}

function post(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: "POST", headers });
}

Deno.test("dashboard: parseListen and isLoopback", () => {
  assert.deepEqual(parseListen("127.0.0.1:8080"), { hostname: "127.0.0.1", port: 8080 });
  assert.deepEqual(parseListen("[::1]:9"), { hostname: "::1", port: 9 });
  assert.deepEqual(parseListen(":8080"), { hostname: "0.0.0.0", port: 8080 });
  assert.throws(() => parseListen("8080"), ConfigError);
  assert.throws(() => parseListen("host:99999"), ConfigError);
  assert.ok(
    isLoopback("127.0.0.1") && isLoopback("localhost") && isLoopback("::1") && isLoopback("[::1]"),
  );
  assert.ok(!isLoopback("0.0.0.0") && !isLoopback("10.0.0.5") && !isLoopback("example.com"));
});

Deno.test("dashboard: a non-loopback address without a token refuses to start", async () => {
  const manager = managerFor({ driver: new MemoryDriver(), config: opsConfig("memory") });
  const previous = Deno.env.get("QUEUE_HTTP_TOKEN");
  Deno.env.delete("QUEUE_HTTP_TOKEN");
  try {
    await assert.rejects(
      () => startOpsServer(manager, { listen: "0.0.0.0:0" }),
      /not a loopback address/,
    );
    Deno.env.set("QUEUE_HTTP_TOKEN", TOKEN);
    const server = await startOpsServer(manager, { listen: "0.0.0.0:0" });
    assert.equal(server.readOnly, false);
    await server.close();
  } finally {
    if (previous === undefined) Deno.env.delete("QUEUE_HTTP_TOKEN");
    else Deno.env.set("QUEUE_HTTP_TOKEN", previous);
  }
});

Deno.test("dashboard: without a token it is read-only", async () => {
  const { manager, server } = await setup();
  try {
    assert.equal(server.readOnly, true);
    const overview = await (await fetch(`${server.url}/api/overview`)).json();
    assert.equal(overview.readOnly, true);
    const response = await post(`${server.url}/api/queues/default/pause`, {
      "x-queue-token": "anything",
    });
    assert.equal(response.status, 403);
    assert.match((await response.json()).error, /read-only/);
    assert.equal((await manager.stats("default")).paused, false);
  } finally {
    await server.close();
  }
});

Deno.test("dashboard: actions need the token and the same origin", async () => {
  const { manager, server } = await setup(TOKEN);
  try {
    const url = `${server.url}/api/queues/default/pause`;
    assert.equal((await post(url)).status, 401);
    assert.equal((await post(url, { "x-queue-token": "wrong" })).status, 401);
    assert.equal(
      (await post(url, { "x-queue-token": TOKEN, origin: "http://evil.example" })).status,
      403,
    );
    assert.equal(
      (await post(url, { "x-queue-token": TOKEN, "sec-fetch-site": "cross-site" })).status,
      403,
    );
    assert.equal(
      (await fetch(url, { headers: { "x-queue-token": TOKEN } })).status,
      404,
      "GET never acts",
    );
    assert.equal((await manager.stats("default")).paused, false);
    const ok = await post(url, {
      "x-queue-token": TOKEN,
      origin: server.url,
      "sec-fetch-site": "same-origin",
    });
    assert.equal(ok.status, 200);
    assert.equal((await manager.stats("default")).paused, true);
    const bearer = await post(`${server.url}/api/queues/default/resume`, {
      authorization: `Bearer ${TOKEN}`,
    });
    assert.equal(bearer.status, 200);
    assert.equal((await manager.stats("default")).paused, false);
    assert.equal(
      (await post(`${server.url}/api/queues/bad%20name!/pause`, { "x-queue-token": TOKEN })).status,
      400,
    );
    assert.equal(
      (await post(`${server.url}/api/failed/nope/retry`, { "x-queue-token": TOKEN })).status,
      404,
    );
  } finally {
    await server.close();
  }
});

Deno.test("dashboard: a foreign Host header is refused on loopback (DNS rebinding)", async () => {
  const { server } = await setup(TOKEN);
  try {
    const connection = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await connection.write(
      new TextEncoder().encode(
        "GET /api/overview HTTP/1.1\r\nHost: rebind.example\r\nConnection: close\r\n\r\n",
      ),
    );
    const reply = await new Response(connection.readable).text();
    assert.match(reply, /^HTTP\/1\.1 421/);
  } finally {
    await server.close();
  }
});

Deno.test("dashboard: no response shows a password; failed jobs show error, stack and actions work", async () => {
  const { driver, manager, server } = await setup(TOKEN);
  try {
    await manager.pushRaw("default", "payload");
    const [job] = await driver.reserve({ queues: [{ name: "default", retryAfterMs: 60_000 }] });
    await driver.fail(job, {
      error: "connect to redis://app:hunter2@cache:6379 failed",
      stack: "Error: password=hunter2\n    at handler (job.ts:1:1)",
    });
    const bodies = await Promise.all(
      ["/", "/assets/dashboard.js", "/api/overview", "/api/failed", "/metrics"].map(
        async (path) => {
          const response = await fetch(`${server.url}${path}`);
          assert.equal(response.status, 200, path);
          return await response.text();
        },
      ),
    );
    for (const body of bodies) assert.ok(!body.includes("hunter2"), "no password in any response");
    const failed = JSON.parse(bodies[3]);
    assert.equal(failed.total, 1);
    assert.equal(failed.jobs[0].error, "connect to redis://app:***@cache:6379 failed");
    assert.match(failed.jobs[0].stack, /at handler/);
    const retried = await post(`${server.url}/api/failed/${job.id}/retry`, {
      "x-queue-token": TOKEN,
    });
    assert.equal(retried.status, 200);
    assert.equal((await manager.stats("default")).ready, 1);
    assert.equal((await manager.failedJobs()).length, 0);
    const cleared =
      await (await post(`${server.url}/api/queues/default/clear`, { "x-queue-token": TOKEN }))
        .json();
    assert.equal(cleared.cleared, 1);
  } finally {
    await server.close();
  }
});
