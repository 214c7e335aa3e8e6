import assert from "node:assert/strict";
import { BaseJob, JobRegistry, Manager, MemoryDriver } from "../../mod.ts";

class RenamedJob extends BaseJob {
  handle(): void {}
}
class TypedJob extends BaseJob {
  static jobType = "emails.welcome";
  handle(): void {}
}

Deno.test("a job is stored under the name it was registered with", async () => {
  const registry = new JobRegistry();
  registry.register(RenamedJob, "billing.renamed");
  const driver = new MemoryDriver();
  const manager = new Manager({ driver: "memory" }, { driver, registry });
  await manager.push(new RenamedJob());
  const [reserved] = await driver.reserve({ queues: [{ name: "default", retryAfterMs: 1000 }] });
  assert.equal(JSON.parse(reserved.payload).type, "billing.renamed");
});

Deno.test("a static jobType names the class; unregistered classes register on first push", async () => {
  const registry = new JobRegistry();
  const manager = new Manager({ driver: "memory" }, { driver: new MemoryDriver(), registry });
  await manager.push(new TypedJob());
  const job = await manager.pop("default");
  assert.ok(job instanceof TypedJob);
});

Deno.test("another class under a taken name is refused", () => {
  const registry = new JobRegistry();
  registry.register(RenamedJob, "same");
  assert.throws(() => registry.register(TypedJob, "same"), /already registered to another class/);
});

Deno.test("a rebuilt job has its fields but never runs its constructor", async () => {
  class CountingJob extends BaseJob {
    static constructed = 0;
    n = 0;
    constructor() {
      super();
      CountingJob.constructed++;
    }
    handle(): void {}
  }
  const registry = new JobRegistry();
  const manager = new Manager({ driver: "memory" }, { driver: new MemoryDriver(), registry });
  await manager.push(Object.assign(new CountingJob(), { n: 7 }));
  const job = (await manager.pop("default")) as CountingJob;
  assert.equal(job.n, 7);
  assert.equal(CountingJob.constructed, 1);
  assert.equal(job.getAttempts(), 1);
});
