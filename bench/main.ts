/**
 * Runs every benchmark module in turn: `deno task bench [--only=redis,sql,ops] [--n=20000]`.
 * A module is `bench/<name>.ts` exporting `run(options): Promise<BenchRow[]>`;
 * missing modules are skipped.
 *
 * @module
 */

import { type BenchOptions, type BenchRow, parseBenchFlags } from "./_harness.ts";

/** The bench modules, in the order they run. */
export const MODULES = ["redis", "sql", "ops"];

/** Runs the selected modules sequentially; returns their rows by module. */
export async function main(options: BenchOptions): Promise<Record<string, BenchRow[]>> {
  const results: Record<string, BenchRow[]> = {};
  for (const name of MODULES) {
    if (options.only.length > 0 && !options.only.includes(name)) continue;
    const url = new URL(`./${name}.ts`, import.meta.url);
    try {
      await Deno.stat(url);
    } catch {
      console.warn(`bench/${name}.ts is not there; skipped.`);
      continue;
    }
    const module = await import(url.href) as { run(options: BenchOptions): Promise<BenchRow[]> };
    results[name] = await module.run(options);
  }
  return results;
}

if (import.meta.main) {
  let options: BenchOptions;
  try {
    options = parseBenchFlags(Deno.args);
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(2);
  }
  await main(options);
}
