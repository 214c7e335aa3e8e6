/**
 * The driver contract against a real three-master Redis Cluster that this file
 * starts on free loopback ports in a temporary directory and tears down. It
 * never touches the shared Redis. Skipped (with a message) when redis-server
 * or redis-cli is missing, unless QUEUE_TEST_REQUIRE_SERVICES=1.
 */
import assert from "node:assert/strict";
import { Cluster } from "ioredis";
import { RedisDriver } from "../../src/drivers/redis.ts";
import type { RedisConfig } from "../../src/config_types.ts";
import { driverContract } from "./contract.ts";
import { freePort, serviceUp, sleep, waitUntil } from "../_services.ts";

interface RunningCluster {
  nodes: string[];
  stop(): Promise<void>;
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${text}`);
  return text;
}

async function startCluster(): Promise<RunningCluster> {
  const dir = await Deno.makeTempDir({ prefix: "queue-redis-cluster-" });
  const ports = [freePort(), freePort(), freePort()];
  const servers = ports.map((port) =>
    new Deno.Command("redis-server", {
      args: [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        `${dir}/nodes-${port}.conf`,
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn()
  );
  const stop = async () => {
    for (const server of servers) {
      try {
        server.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    await Promise.allSettled(servers.map((server) => server.status));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    for (const port of ports) {
      await waitUntil(
        () => run("redis-cli", ["-p", String(port), "ping"]).then(() => true, () => false),
        10_000,
        `redis-server on ${port}`,
      );
    }
    const nodes = ports.map((port) => `127.0.0.1:${port}`);
    await run("redis-cli", [
      "--cluster",
      "create",
      ...nodes,
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    for (const port of ports) {
      await waitUntil(
        async () =>
          (await run("redis-cli", ["-p", String(port), "cluster", "info"])).includes(
            "cluster_state:ok",
          ),
        20_000,
        `cluster state ok on ${port}`,
      );
    }
    return { nodes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

let cluster: RunningCluster | undefined;
const up = await serviceUp("A three-master Redis Cluster (redis-server, redis-cli)", async () => {
  cluster = await startCluster();
});
globalThis.addEventListener("unload", () => void cluster?.stop());

function config(): RedisConfig {
  return { host: "127.0.0.1", port: 6379, db: 0, prefix: "queue", cluster: cluster!.nodes };
}

async function flush(): Promise<void> {
  for (const node of cluster!.nodes) {
    const [host, port] = node.split(":");
    await run("redis-cli", ["-h", host, "-p", port, "flushdb"]);
  }
}

driverContract("redis cluster", async () => {
  await flush();
  const drivers: RedisDriver[] = [];
  const make = async () => {
    const driver = new RedisDriver(config());
    await driver.connect();
    drivers.push(driver);
    return driver;
  };
  const driver = await make();
  return {
    driver,
    sibling: make,
    cleanup: async () => {
      await Promise.all(drivers.map((d) => d.close()));
    },
  };
}, { ignore: !up });

Deno.test({
  name: "redis cluster: queues live in different slots and each queue's keys in one",
  ignore: !up,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await flush();
    const driver = new RedisDriver(config());
    await driver.connect();
    const names = Array.from({ length: 12 }, (_, i) => `q${i}`);
    await driver.pushBulk(names.map((queue) => ({ id: `${queue}-1`, queue, payload: "{}" })));
    const client = new Cluster(
      cluster!.nodes.map((n) => ({ host: "127.0.0.1", port: Number(n.split(":")[1]) })),
    );
    try {
      const slots = new Set<number>();
      for (const queue of names) {
        slots.add(Number(await client.call("CLUSTER", "KEYSLOT", `queue:{${queue}}:ready`)));
        assert.equal(
          await client.call("CLUSTER", "KEYSLOT", `queue:{${queue}}:ready`),
          await client.call("CLUSTER", "KEYSLOT", `queue:{${queue}}:reserved`),
        );
      }
      assert.ok(slots.size > 1, "the test queues spread over several slots");
      const queues = names.map((name) => ({ name, retryAfterMs: 60_000 }));
      const taken = await driver.reserve({ queues, count: 12 });
      assert.deepEqual(
        taken.map((job) => job.queue),
        names,
        "one job from each queue, in priority order",
      );
    } finally {
      client.disconnect();
      await driver.close();
      await sleep(10);
    }
  },
});

Deno.test({
  name: "redis cluster: tear down",
  ignore: !up,
  fn: async () => {
    await cluster?.stop();
    cluster = undefined;
  },
});
