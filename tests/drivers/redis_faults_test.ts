/**
 * Redis fault tests: (a) a worker process holding reserved jobs is SIGKILLed
 * and every job is still processed (shared Redis, database 10); (b) a
 * redis-server of the test's own is stopped and restarted mid-run, the
 * driver reconnects by itself and no job is lost.
 */
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { RedisDriver } from "../../src/drivers/redis.ts";
import type { RedisConfig } from "../../src/config_types.ts";
import { ConnectionError } from "../../src/errors.ts";
import { freePort, serviceUp, sleep, waitUntil } from "../_services.ts";

const options = { sanitizeOps: false, sanitizeResources: false };
const shared: RedisConfig = { host: "127.0.0.1", port: 6379, db: 10, prefix: "queue" };

const sharedUp = await serviceUp("Redis at 127.0.0.1:6379", async () => {
  const probe = new Redis({ port: 6379, db: 10, lazyConnect: true, maxRetriesPerRequest: 0 });
  probe.on("error", () => {});
  try {
    await probe.connect();
    await probe.flushdb();
  } finally {
    probe.disconnect();
  }
});

/** Reads a child's stdout line by line into `lines`. */
async function collect(stream: ReadableStream<Uint8Array>, lines: string[]): Promise<void> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    const parts = buffer.split("\n");
    buffer = parts.pop()!;
    lines.push(...parts);
  }
}

Deno.test({
  name:
    "redis faults: a SIGKILLed worker holding jobs loses none; only its in-flight jobs run twice",
  ignore: !sharedUp,
  ...options,
  fn: async () => {
    const driver = new RedisDriver(shared);
    await driver.connect();
    const ids = Array.from({ length: 60 }, (_, i) => `job-${i}`);
    await driver.pushBulk(
      ids.map((id) => ({ id, queue: "crash", payload: JSON.stringify({ id }) })),
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../fixtures/redis_fault_worker.ts", import.meta.url).pathname,
        JSON.stringify({
          db: 10,
          queue: "crash",
          batch: 5,
          holdMs: 100,
          retryAfterMs: 800,
        }),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines: string[] = [];
    const reading = collect(child.stdout, lines);
    try {
      // Kill it right after it took a batch, once some batches are done.
      await waitUntil(
        () =>
          lines.filter((l) => l.startsWith("done ")).length >= 10 &&
          lines.at(-1)!.startsWith("got "),
        20_000,
        "a held batch",
      );
      child.kill("SIGKILL");
      await child.status;
      await reading;
      const done = new Set(lines.filter((l) => l.startsWith("done ")).map((l) => l.slice(5)));
      const got = lines.filter((l) => l.startsWith("got ")).flatMap((l) => l.slice(4).split(" "));
      const inFlight = got.filter((id) => !done.has(id));
      assert.ok(inFlight.length > 0, "the worker held jobs when it was killed");
      assert.equal((await driver.stats("crash")).reserved, inFlight.length);

      const later: string[] = [];
      await waitUntil(
        async () => {
          const jobs = await driver.reserve({
            queues: [{ name: "crash", retryAfterMs: 800 }],
            count: 10,
            waitMs: 200,
          });
          for (const job of jobs) {
            assert.equal(await driver.delete(job), true);
            later.push(job.id);
          }
          return (await driver.size("crash")) === 0;
        },
        20_000,
        "the queue to drain",
      );

      const processed = [...done, ...later];
      assert.deepEqual(new Set(processed), new Set(ids), "every job was processed");
      const twice = later.filter((id) => done.has(id));
      assert.deepEqual(twice, [], "an acknowledged job never runs again");
      assert.deepEqual(new Set(later.filter((id) => got.includes(id))), new Set(inFlight));
      assert.equal(
        processed.length,
        ids.length,
        "no job ran twice except the in-flight ones, which the killed worker never finished",
      );
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await driver.clear("crash");
      await driver.close();
    }
  },
});

function startServer(port: number, dir: string): Deno.ChildProcess {
  return new Deno.Command("redis-server", {
    args: [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      "--daemonize",
      "no",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
}

async function ping(port: number): Promise<boolean> {
  const out = await new Deno.Command("redis-cli", {
    args: ["-p", String(port), "ping"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).includes("PONG");
}

const serverAvailable = await serviceUp(
  "redis-server binary",
  () => new Deno.Command("redis-server", { args: ["--version"] }).output(),
);

Deno.test({
  name:
    "redis faults: a Redis restart mid-run is survived; the driver reconnects and no job is lost",
  ignore: !serverAvailable,
  ...options,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "queue-redis-restart-" });
    const port = freePort();
    let server = startServer(port, dir);
    const config: RedisConfig = { host: "127.0.0.1", port, db: 0, prefix: "queue" };
    const producer = new RedisDriver(config);
    const consumer = new RedisDriver(config);
    const errors: Error[] = [];
    const pushed = new Set<string>();
    const handled = new Set<string>();
    let producing = true;
    try {
      await waitUntil(() => ping(port), 10_000, "redis-server");
      await producer.connect();
      await consumer.connect();
      const produce = (async () => {
        for (let i = 0; i < 300; i++) {
          const id = `r-${i}`;
          while (true) {
            try {
              await producer.push({ id, queue: "restart", payload: JSON.stringify({ id }) });
              pushed.add(id);
              break;
            } catch (error) {
              errors.push(error as Error);
              await sleep(20);
            }
          }
          await sleep(3);
        }
        producing = false;
      })();
      const consume = (async () => {
        while (producing || handled.size < pushed.size) {
          try {
            const jobs = await consumer.reserve({
              queues: [{ name: "restart", retryAfterMs: 500 }],
              count: 4,
              waitMs: 200,
            });
            for (const job of jobs) {
              handled.add(job.id); // the handler ran; a lost ack only means a second run
              await consumer.delete(job);
            }
          } catch (error) {
            errors.push(error as Error);
            await sleep(20);
          }
        }
      })();
      await waitUntil(() => pushed.size >= 100, 20_000, "the first pushes");
      server.kill("SIGTERM");
      await server.status;
      await sleep(400);
      server = startServer(port, dir);
      await waitUntil(() => ping(port), 10_000, "the restarted redis-server");
      await Promise.race([
        Promise.all([produce, consume]),
        sleep(30_000).then(() => {
          throw new Error(`timed out: pushed ${pushed.size}, handled ${handled.size}`);
        }),
      ]);
      assert.equal(pushed.size, 300);
      assert.deepEqual([...pushed].filter((id) => !handled.has(id)), [], "no pushed job was lost");
      assert.ok(errors.length > 0, "the outage was noticed");
      for (const error of errors) {
        assert.ok(error instanceof ConnectionError, `${error.name}: ${error.message}`);
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      }
      assert.equal(await consumer.size("restart"), 0, "nothing is left reserved");
    } finally {
      producing = false;
      await producer.close();
      await consumer.close();
      server.kill("SIGKILL");
      await server.status.catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
