/**
 * Screenshots the dashboard: three queues with an hour of history, a live
 * worker running a job, a paused queue and a failed job with its stack.
 * Writes a temporary file, or docs/dashboard.png with UPDATE_SCREENSHOTS=1:
 *
 *     UPDATE_SCREENSHOTS=1 deno test -A tests/ops/dashboard_screenshot_test.ts
 */

import assert from "node:assert/strict";
import { MemoryDriver } from "../../src/drivers/memory.ts";
import { JobRegistry } from "../../src/job_registry.ts";
import { startOpsServer } from "../../src/ops/dashboard.ts";
import { Worker } from "../../src/worker.ts";
import { chromiumAvailable, launch } from "./_browser.ts";
import { managerFor, opsConfig } from "./_stores.ts";

const DOCS_SCREENSHOT = new URL("../../docs/dashboard.png", import.meta.url).pathname;
const UPDATE = Deno.env.get("UPDATE_SCREENSHOTS") === "1";
const VIEWPORT = { width: 1280, height: 900 };
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width and height from a PNG's IHDR chunk; throws when the bytes are not a PNG. */
function pngSize(bytes: Uint8Array): { width: number; height: number } {
  assert.deepEqual([...bytes.subarray(0, 8)], PNG_SIGNATURE, "PNG signature");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(new TextDecoder().decode(bytes.subarray(12, 16)), "IHDR", "IHDR chunk first");
  return { width: view.getUint32(16), height: view.getUint32(20) };
}
const QUEUES = ["high", "default", "low"];

/** Plays an hour of traffic into the memory driver by moving its clock. */
async function playHistory(driver: MemoryDriver, move: (offset: number) => void): Promise<void> {
  for (let minute = 0; minute < 60; minute++) {
    move((minute - 60) * 60_000 + 1000);
    const rate = Math.round(38 + 24 * Math.sin(minute / 7) + 10 * Math.sin(minute / 2.3));
    for (let i = 0; i < rate; i++) {
      const queue = QUEUES[i % 7 === 0 ? 0 : i % 3 === 0 ? 2 : 1];
      const id = `h-${minute}-${i}`;
      await driver.push({ id, queue, payload: "{}" });
      const [job] = await driver.reserve({ queues: [{ name: queue, retryAfterMs: 60_000 }] });
      const durationMs = 40 + ((i * 37) % 160);
      if ((minute * 31 + i) % 97 === 0) {
        await driver.fail(job, { error: "timeout" }, { durationMs });
      } else await driver.delete(job, { durationMs });
    }
  }
  await driver.failedFlush();
  move(0);
}

async function failOne(
  driver: MemoryDriver,
  manager: ReturnType<typeof managerFor>,
): Promise<void> {
  await manager.pushRaw("default", JSON.stringify({ to: "ana@example.com", template: "invoice" }));
  const [job] = await driver.reserve({ queues: [{ name: "default", retryAfterMs: 60_000 }] });
  let error: Error;
  try {
    throw new Error("SMTP 451: mail.example.com temporarily rejected the message");
  } catch (caught) {
    error = caught as Error;
  }
  await driver.fail(job, { error: error.message, stack: error.stack }, { durationMs: 312 });
}

if (chromiumAvailable()) {
  Deno.test({
    name: "dashboard screenshot: three queues, a live worker and a failed job",
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      let offset = 0;
      const driver = new MemoryDriver({ clock: () => Date.now() + offset });
      const registry = new JobRegistry();
      const gate = Promise.withResolvers<void>();
      registry.registerRawHandler("high", () => gate.promise);
      const manager = managerFor({ driver, config: opsConfig("memory") }, registry);
      await playHistory(driver, (value) => offset = value);
      const at = async (minutesAgo: number, push: () => Promise<void>) => {
        offset = -minutesAgo * 60_000;
        await push();
        offset = 0;
      };
      await at(4, () => failOne(driver, manager));
      await at(18, async () => {
        for (let i = 0; i < 27; i++) await manager.pushRaw("low", `report-${i}`);
      });
      await at(2.5, async () => {
        for (let i = 0; i < 12; i++) await manager.pushRaw("default", `mail-${i}`);
      });
      await at(0.3, async () => {
        for (let i = 0; i < 4; i++) await manager.pushRaw("high", `charge-${i}`);
      });
      for (let i = 0; i < 3; i++) {
        await manager.pushRaw("default", `digest-${i}`, { delay: 600_000 });
      }
      await manager.pause("low");
      const worker = new Worker(manager, ["high"], { sleep: 100, heartbeatMs: 300, memory: 0 });
      const running = worker.start();
      const server = await startOpsServer(manager, { listen: "127.0.0.1:0" }, {
        token: "screenshot",
      });
      const browser = await launch();
      const path = UPDATE ? DOCS_SCREENSHOT : await Deno.makeTempFile({ suffix: ".png" });
      try {
        const page = await browser.newPage({ viewport: VIEWPORT, deviceScaleFactor: 1 });
        await page.goto(server.url);
        await page.locator(`tr[data-worker="${worker.id}"] td`).last().filter({
          hasNotText: "idle",
        }).waitFor();
        await page.waitForSelector("[data-failed]");
        await page.locator("[data-failed] details summary").click();
        await page.screenshot({ path, fullPage: true });
        const bytes = await Deno.readFile(path);
        assert.ok(bytes.length > 20_000, `the screenshot has content (${bytes.length} bytes)`);
        const size = pngSize(bytes);
        assert.equal(size.width, VIEWPORT.width);
        assert.ok(size.height >= VIEWPORT.height, `full page height ${size.height}`);
        assert.equal(await page.locator("tr[data-queue]").count(), 3);
      } finally {
        if (!UPDATE) await Deno.remove(path).catch(() => {});
        await browser.close();
        await server.close();
        gate.resolve();
        await worker.stop();
        await running;
      }
    },
  });
}
