/**
 * Dashboard cost: page weight (bytes of the HTML, CSS and script, raw and
 * gzip) and time to first render in headless Debian Chromium (first
 * contentful paint, and until the data from /api/ is drawn), median of 5 loads.
 * Part of `deno task bench` (module "ops").
 *
 * Run alone: deno run -A bench/ops.ts
 */

import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "../tests/ops/_browser.ts";
import { resolveConfig } from "../src/config.ts";
import { MemoryDriver } from "../src/drivers/memory.ts";
import { Manager } from "../src/manager.ts";
import { startOpsServer } from "../src/ops/dashboard.ts";
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from "../src/ops/dashboard_page.ts";
import { type BenchOptions, type BenchRow, parseBenchFlags, printTable } from "./_harness.ts";

async function gzipSize(text: string): Promise<number> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Bytes of the dashboard's three resources, raw and gzip. */
async function pageWeight(): Promise<{ raw: number; gzip: number }> {
  const parts = [DASHBOARD_HTML, DASHBOARD_CSS, DASHBOARD_JS];
  const raw = parts.reduce((sum, text) => sum + new TextEncoder().encode(text).length, 0);
  const gzip = (await Promise.all(parts.map(gzipSize))).reduce((a, b) => a + b, 0);
  return { raw, gzip };
}

/** Median first contentful paint and time until the data is drawn, over 5 warm loads. */
async function firstRender(): Promise<{ paint: number; drawn: number }> {
  const config = resolveConfig({
    queue: {
      driver: "memory",
      queues: { high: { priority: 2 }, default: { priority: 1 }, low: { priority: 0 } },
    },
  }, "bench");
  const manager = new Manager(config, { driver: new MemoryDriver() });
  for (let i = 0; i < 50; i++) {
    await manager.pushRaw(["high", "default", "low"][i % 3], `job-${i}`);
  }
  const server = await startOpsServer(manager, { listen: "127.0.0.1:0" });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
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
    await manager.close();
  }
  return { paint: median(paints), drawn: median(drawn) };
}

/** The dashboard rows of `deno task bench`; the render rows need Debian's Chromium. */
export async function run(_options: BenchOptions): Promise<BenchRow[]> {
  const weight = await pageWeight();
  const rows: BenchRow[] = [
    { metric: "page weight (3 requests)", subject: "raw", value: weight.raw, unit: "bytes" },
    { metric: "page weight (3 requests)", subject: "gzip", value: weight.gzip, unit: "bytes" },
  ];
  try {
    Deno.statSync(CHROMIUM);
  } catch {
    console.warn(`Dashboard time to first render skipped: ${CHROMIUM} is absent.`);
    printTable("Dashboard", rows);
    return rows;
  }
  const render = await firstRender();
  rows.push(
    {
      metric: "first contentful paint (median of 5)",
      subject: "chromium",
      value: render.paint,
      unit: "ms",
    },
    { metric: "data drawn (median of 5)", subject: "chromium", value: render.drawn, unit: "ms" },
  );
  printTable("Dashboard", rows);
  return rows;
}

if (import.meta.main) await run(parseBenchFlags(Deno.args));
