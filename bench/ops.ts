/**
 * Dashboard cost: page weight (bytes of the HTML, CSS and script, raw and
 * gzip) and time to first render in headless Debian Chromium (first
 * contentful paint, and until the data from /api/ is drawn), median of 5 loads.
 *
 * Run: deno run -A bench/ops.ts
 */

import { chromium } from "playwright-core";
import { resolveConfig } from "../src/config.ts";
import { MemoryDriver } from "../src/drivers/memory.ts";
import { Manager } from "../src/manager.ts";
import { startOpsServer } from "../src/ops/dashboard.ts";
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from "../src/ops/dashboard_page.ts";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

async function gzipSize(text: string): Promise<number> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const parts = { html: DASHBOARD_HTML, css: DASHBOARD_CSS, js: DASHBOARD_JS };
const raw = Object.values(parts).reduce(
  (sum, text) => sum + new TextEncoder().encode(text).length,
  0,
);
const gzip = (await Promise.all(Object.values(parts).map(gzipSize))).reduce((a, b) => a + b, 0);
console.log(`page weight: ${raw} bytes (${gzip} bytes gzip) in 3 requests, no other resources`);

try {
  Deno.statSync("/usr/bin/chromium");
} catch {
  console.log("time to first render: skipped (/usr/bin/chromium is absent)");
  Deno.exit(0);
}

const config = resolveConfig({
  queue: {
    driver: "memory",
    queues: { high: { priority: 2 }, default: { priority: 1 }, low: { priority: 0 } },
  },
}, "bench");
const manager = new Manager(config, { driver: new MemoryDriver() });
for (let i = 0; i < 50; i++) await manager.pushRaw(["high", "default", "low"][i % 3], `job-${i}`);
const server = await startOpsServer(manager, { listen: "127.0.0.1:0" });
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ARGS });
const paints: number[] = [];
const drawn: number[] = [];
try {
  for (let run = 0; run < 6; run++) {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForSelector("body[data-loaded]");
    const timing = await page.evaluate(() => {
      const paint = performance.getEntriesByName("first-contentful-paint")[0];
      return { fcp: paint?.startTime ?? NaN, now: performance.now() };
    });
    if (run > 0) { // the first load warms the browser
      paints.push(timing.fcp);
      drawn.push(timing.now);
    }
    await page.close();
  }
} finally {
  await browser.close();
  await server.close();
}
console.log(
  `time to first render (median of 5): first contentful paint ${median(paints).toFixed(0)} ms, ` +
    `data drawn by ${median(drawn).toFixed(0)} ms after navigation start`,
);
