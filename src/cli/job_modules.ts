/**
 * Imports the job modules a config lists (`jobs: ["./app/jobs.ts"]`), so their
 * `registerJob()` calls run before the worker takes jobs.
 *
 * @module
 */

import { runningCompiled } from "../worker_process.ts";

/** The import specifier of a `jobs:` entry: URLs as they are, paths from the working directory. */
export function jobModuleSpecifier(entry: string, cwd: string = Deno.cwd()): string {
  if (/^(file|https?|npm|jsr):/.test(entry)) return entry;
  const absolute = /^([A-Za-z]:[\\/]|[\\/])/.test(entry)
    ? entry
    : `${cwd.replace(/[\\/]+$/, "")}/${entry.replace(/^\.[\\/]/, "")}`;
  const path = absolute.replaceAll("\\", "/");
  const url = new URL(path.startsWith("/") ? `file://${path}` : `file:///${path}`);
  return url.href;
}

/** Imports each job module in order; throws one sentence naming the module that failed. */
export async function importJobModules(entries: readonly string[]): Promise<void> {
  for (const entry of entries) {
    try {
      await import(jobModuleSpecifier(entry));
    } catch (error) {
      const reason = (error as Error).message?.split("\n")[0];
      const hint = runningCompiled()
        ? " A compiled executable cannot import modules absent at compile time" +
          " (denoland/deno#18327): use handlers: in the config, or compile your own entry that imports your jobs."
        : "";
      throw new Error(`Cannot import job module ${entry}: ${reason}.${hint}`);
    }
  }
}
