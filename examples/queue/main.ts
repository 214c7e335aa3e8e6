/**
 * The demo (`deno task demo`): the seed's examples on the embedded SQLite
 * store, with no server and no config file. It pushes the seed's jobs, a
 * delayed one, a raw payload and a job that fails and retries, runs a worker
 * until all are done, and prints what happened.
 */
import { defaultConfig, Manager, registerRawHandler, Worker, type WorkerEvent } from "../../mod.ts";
import { ExampleJob, ProcessOrderJob, SendWelcomeEmailJob } from "./jobs/mod.ts";

const config = defaultConfig(); // SQLite at ./storage/queue.db, the seed's queues
config.sqlite.path = Deno.env.get("QUEUE_DEMO_DB") ?? "./storage/demo.db";
config.worker.memoryMb = 0;
const manager = new Manager(config);
for (const queue of ["default", "high", "low", "emails"]) await manager.clear(queue);
await manager.flushFailed();

// Raw payloads (pushRaw) of the "emails" queue are handled here.
registerRawHandler("emails", (job) => {
  const email = job.json<{ type: string; to: string; body: string }>();
  console.log(`Raw ${email.type} to ${email.to}: ${email.body}`);
});

// 1. The seed's basic push.
const example = Object.assign(
  new ExampleJob({ queue: "default", maxAttempts: 3, timeout: 60_000 }),
  { message: "Hello, Queue!" },
);
await manager.push(example);

// 2. A high-priority job: served before "default" although pushed later.
await manager.push(Object.assign(new SendWelcomeEmailJob({ queue: "high" }), {
  email: "user@example.com",
  name: "Ada",
  subject: "Welcome!",
}));

// 3. A delayed job (the seed delays 5 minutes; the demo 2 seconds).
await manager.later(Object.assign(new ExampleJob(), { message: "I was delayed 2 s" }), 2_000);

// 4. A raw payload with the seed's snake_case options.
await manager.pushRaw("emails", { type: "email", to: "user@example.com", body: "Hello World" }, {
  delay: 1_000,
  max_attempts: 3,
  timeout: 30_000,
});

// 5. A job that fails twice and succeeds on its third attempt (backoff 0.5 s, then 1 s).
await manager.push(Object.assign(new ProcessOrderJob({ maxAttempts: 3, backoff: [500, 1_000] }), {
  orderId: 42,
  flakyTimes: 2,
}));

// 6. A job that can never succeed: it goes to the failed store.
await manager.push(Object.assign(new ProcessOrderJob({ queue: "low" }), { orderId: -1 }));

console.log(
  `Pushed 6 jobs; queued: ${await manager.size("default")} default, ${await manager.size(
    "high",
  )} high`,
);

const expected = 6;
let finished = 0;
const worker = new Worker(manager, ["default", "high", "low", "emails"], {
  sleep: 1_000,
  onEvent: (event: WorkerEvent) => {
    console.log(`  [${event.queue}] ${describe(event)}`);
    if (event.type === "done" || event.type === "failed" || event.type === "invalid") finished++;
    if (finished === expected) worker.stop();
  },
});
const exit = await worker.start();

const failed = await manager.failedJobs();
console.log(`\nDone: ${exit.processed} succeeded, ${failed.length} in the failed store:`);
for (const job of failed) console.log(`  ${job.id} (${job.queue}): ${job.error}`);
await manager.close();

function describe(event: WorkerEvent): string {
  const job = `${event.jobType} ${event.jobId.slice(0, 8)}`;
  switch (event.type) {
    case "started":
      return `${job} started (attempt ${event.attempt})`;
    case "done":
      return `${job} done in ${event.durationMs?.toFixed(1)} ms`;
    case "retrying":
      return `${job} failed: ${event.error?.message}; retrying in ${event.retryInMs} ms`;
    default:
      return `${job} ${event.type}: ${event.error?.message}`;
  }
}
