/**
 * Command and URL handlers for raw queues (`handlers:` in the config), alone
 * and through the `worker` executable.
 */

import assert from "node:assert/strict";
import { commandHandler, handlerFromConfig, safeUrl, urlHandler } from "../../src/handlers.ts";
import { RawJob } from "../../src/job.ts";
import type { JobContext } from "../../src/job.ts";
import { countFiles, pushJobs, run, tempSetup } from "./_cli.ts";

function context(signal = new AbortController().signal): JobContext {
  return { signal, attempt: 2, jobId: "job-1", queue: "emails" };
}

const job = new RawJob('{"to":"user@example.com"}');

Deno.test("command handler: payload on stdin, job env, exit 0 is success", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script =
      `cat > ${dir}/payload; echo "$QUEUE_JOB_ID $QUEUE_NAME $QUEUE_ATTEMPT" > ${dir}/env`;
    await commandHandler(["sh", "-c", script])(job, context());
    assert.equal(await Deno.readTextFile(`${dir}/payload`), '{"to":"user@example.com"}');
    assert.equal((await Deno.readTextFile(`${dir}/env`)).trim(), "job-1 emails 2");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("command handler: a non-zero exit fails with the end of stderr", async () => {
  await assert.rejects(
    commandHandler(["sh", "-c", "echo first >&2; echo 'smtp refused' >&2; exit 3"])(job, context()),
    /Command sh exited with code 3: first\nsmtp refused/,
  );
});

Deno.test("command handler: the job's signal kills the command", async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error("timed out")), 100);
  const started = Date.now();
  await assert.rejects(
    commandHandler(["sleep", "30"])(job, context(controller.signal)),
    /timed out/,
  );
  assert.ok(Date.now() - started < 10_000);
});

Deno.test("url handler: POSTs the payload; 2xx succeeds, others fail with the status", async () => {
  const received: { body: string; id: string | null; auth: string | null }[] = [];
  let status = 204;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    received.push({
      body: await req.text(),
      id: req.headers.get("x-queue-job-id"),
      auth: req.headers.get("authorization"),
    });
    return new Response(status === 204 ? null : "quota exceeded", { status });
  });
  const url = `http://user:secret@127.0.0.1:${server.addr.port}/jobs`;
  try {
    const handler = urlHandler(url, { authorization: "Bearer t" });
    await handler(job, context());
    assert.equal(received[0].body, '{"to":"user@example.com"}');
    assert.equal(received[0].id, "job-1");
    assert.match(received[0].auth ?? "", /Bearer t/);
    status = 429;
    await assert.rejects(handler(job, context()), (error: Error) => {
      assert.match(error.message, /answered 429 Too Many Requests: quota exceeded/);
      assert.ok(!error.message.includes("secret"), "no password in the message");
      return true;
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("url handler: the job's signal aborts the request", async () => {
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async () => {
    await new Promise((resolve) => setTimeout(resolve, 500));
    return new Response("late");
  });
  try {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("timed out")), 100);
    await assert.rejects(
      urlHandler(`http://127.0.0.1:${server.addr.port}/`)(job, context(controller.signal)),
      /timed out/,
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("handlerFromConfig and safeUrl", () => {
  assert.throws(
    () => handlerFromConfig("q", {}),
    /The handler of queue "q" needs a command or a url/,
  );
  assert.equal(safeUrl("https://a:b@example.com/x"), "https://example.com/x");
});

Deno.test("worker runs raw jobs through a handlers: command from the config", async () => {
  const setup = await tempSetup(`
queue:
  driver: sqlite
  queues:
    emails: { priority: 1, processes: 1, timeout: 10, tries: 1, retry_after: 30 }
sqlite: { path: "$DIR/queue.db" }
handlers:
  emails:
    command: ["sh", "-c", "cat > $DIR/out/$QUEUE_JOB_ID"]
`);
  try {
    await pushJobs(setup.config, "raw", "emails", 3, setup.out);
    const worker = await run("worker", ["-queue=emails", "-max-jobs=3", `-config=${setup.config}`]);
    assert.equal(worker.code, 0, worker.stderr);
    assert.equal(await countFiles(setup.out), 3);
    const status = await run("queue-status", ["-queue=emails", "-json", `-config=${setup.config}`]);
    const detail = JSON.parse(status.stdout);
    assert.deepEqual([detail.ready, detail.reserved, detail.failed], [0, 0, 0]);
  } finally {
    await setup.cleanup();
  }
});
