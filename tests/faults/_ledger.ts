/**
 * The fault suite's ledger: what the handlers recorded (see
 * tests/fixtures/faults_jobs.ts), read back and counted.
 *
 * @module
 */

import type { LedgerLine } from "../fixtures/faults_jobs.ts";

export type { LedgerLine } from "../fixtures/faults_jobs.ts";

/** Reads every line of a ledger file ([] when it does not exist yet). */
export async function readLedger(path: string): Promise<LedgerLine[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  // A line being written by another process may be incomplete: skip it.
  return text.split("\n").flatMap((line) => {
    try {
      return line ? [JSON.parse(line) as LedgerLine] : [];
    } catch {
      return [];
    }
  });
}

/** What a ledger says about jobs numbered 0..count-1. */
export interface LedgerSummary {
  /** Jobs pushed. */
  jobs: number;
  /** Numbers of jobs with no "e" line. */
  lost: number[];
  /** Numbers of jobs whose handler started more than once. */
  duplicates: number[];
  /** Numbers of jobs that ended more than once. */
  doneTwice: number[];
  /** Lines by job number. */
  byJob: Map<number, LedgerLine[]>;
}

/** Counts lost and duplicated jobs among the numbers `expected` (default 0..jobs-1). */
export function summarize(lines: LedgerLine[], expected: Iterable<number>): LedgerSummary {
  const byJob = new Map<number, LedgerLine[]>();
  for (const line of lines) {
    const list = byJob.get(line.n) ?? [];
    list.push(line);
    byJob.set(line.n, list);
  }
  const numbers = [...expected];
  const count = (n: number, p: "s" | "e") => (byJob.get(n) ?? []).filter((l) => l.p === p).length;
  return {
    jobs: numbers.length,
    lost: numbers.filter((n) => count(n, "e") === 0),
    duplicates: numbers.filter((n) => count(n, "s") > 1),
    doneTwice: numbers.filter((n) => count(n, "e") > 1),
    byJob,
  };
}

/** 0, 1, ..., count - 1. */
export function range(count: number, from = 0): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

/** Waits until every job of `expected` has ended in the ledger; returns the lines. */
export async function waitForLedger(
  path: string,
  expected: Iterable<number>,
  timeoutMs: number,
): Promise<LedgerLine[]> {
  const numbers = [...expected];
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const lines = await readLedger(path);
    const ended = new Set(lines.filter((l) => l.p === "e").map((l) => l.n));
    const missing = numbers.filter((n) => !ended.has(n));
    if (missing.length === 0) return lines;
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out after ${timeoutMs} ms: ${missing.length} of ${numbers.length} jobs never ended (first: ${
          missing.slice(0, 5).join(", ")
        }).`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Prints one figure line of the reliability table (collected by the report). */
export function figure(
  scenario: string,
  driver: string,
  values: { jobs: number; lost: number; duplicates: number; recovery?: string },
): void {
  console.log(
    `FIGURE | ${scenario} | ${driver} | jobs ${values.jobs} | lost ${values.lost} | duplicates ${values.duplicates} | recovery ${
      values.recovery ?? "-"
    }`,
  );
}
