import assert from "node:assert/strict";
import { JobRegistry } from "../../src/job_registry.ts";
import { startOpsServer } from "../../src/ops/dashboard.ts";
import { Worker } from "../../src/worker.ts";
import { waitUntil } from "../_services.ts";
import { chromiumAvailable, launch } from "./_browser.ts";
import { availableStores, managerFor } from "./_stores.ts";

const TOKEN = "browser-test-token";
const PUSH = new URL("../fixtures/ops_push.ts", import.meta.url).pathname;

async function pushFromChild(configFile: string, queue: string, count: number): Promise<void> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", PUSH, configFile, queue, String(count)],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
}

if (chromiumAvailable()) {
  const sqlite = (await availableStores()).find((store) => store.name === "sqlite")!;

  Deno.test({
    name:
      "dashboard in Chromium: live counts, retry, pause/resume, and a refused action without the token",
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const handle = await sqlite.open();
      const dir = await Deno.makeTempDir({ prefix: "queue_ops_" });
      const configFile = `${dir}/config.json`;
      await Deno.writeTextFile(configFile, JSON.stringify(handle.config));
      const registry = new JobRegistry();
      const done: string[] = [];
      let flaky = true;
      for (const queue of ["high", "default", "low"]) {
        registry.registerRawHandler(queue, (job) => {
          if (job.body.startsWith("flaky") && flaky) {
            throw new Error(`flaky dependency for ${job.body}`);
          }
          done.push(job.body);
        });
      }
      const manager = managerFor(handle, registry);
      const worker = new Worker(manager, ["high", "default"], {
        sleep: 100,
        heartbeatMs: 500,
        memory: 0,
      });
      const running = worker.start();
      const server = await startOpsServer(manager, { listen: "127.0.0.1:0" }, {
        token: TOKEN,
        aliveMs: 5000,
      });
      const browser = await launch();
      try {
        const page = await browser.newPage();
        page.on("dialog", (dialog) => dialog.accept());
        await page.goto(server.url);
        await page.waitForSelector("body[data-loaded]");
        await page.waitForSelector(`tr[data-worker="${worker.id}"]`);
        const cell = (queue: string, column: string) =>
          page.locator(`tr[data-queue="${queue}"] td[data-col="${column}"]`);
        await page.fill("#token", TOKEN);

        // Counts change when another process pushes.
        await pushFromChild(configFile, "low", 5);
        await cell("low", "ready").filter({ hasText: /^5$/ }).waitFor();

        // A failed job is shown with its error; a click retries it and it is processed.
        await manager.pushRaw("default", "flaky-1", { maxAttempts: 1 });
        const failed = page.locator("[data-failed]");
        await failed.filter({ hasText: "flaky dependency for flaky-1" }).waitFor();
        flaky = false;
        await failed.getByRole("button", { name: "Retry" }).click();
        await waitUntil(() => done.includes("flaky-1"), 10_000, "the retried job to run");
        await page.getByText("No failed jobs").waitFor();

        // A click pauses the queue: its jobs wait; a click resumes it and they run.
        await page.locator('tr[data-queue="default"]').getByRole("button", { name: "Pause" })
          .click();
        await page.locator('tr[data-queue="default"] .badge').filter({ hasText: "paused" })
          .waitFor();
        assert.equal((await manager.stats("default")).paused, true);
        await manager.pushRaw("default", "waits-1");
        await manager.pushRaw("default", "waits-2");
        await cell("default", "ready").filter({ hasText: /^2$/ }).waitFor();
        await new Promise((resolve) => setTimeout(resolve, 500));
        assert.ok(!done.includes("waits-1") && !done.includes("waits-2"), "paused jobs wait");
        await page.locator('tr[data-queue="default"]').getByRole("button", { name: "Resume" })
          .click();
        await waitUntil(() => done.includes("waits-2"), 10_000, "the resumed jobs to run");

        // Without the token the same click is refused and nothing changes.
        await page.fill("#token", "");
        await page.locator('tr[data-queue="low"]').getByRole("button", { name: "Clear" }).click();
        await page.locator("#toast").filter({ hasText: "refused" }).waitFor();
        assert.equal((await manager.stats("low")).ready, 5);
      } finally {
        await browser.close();
        await server.close();
        await worker.stop();
        await running;
        await handle.cleanup();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
