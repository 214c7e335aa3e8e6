/** Runs jobs through a real Worker and keeps a ledger of what the handler saw. */

import type { JobRegistry } from "../../src/job_registry.ts";
import type { Manager } from "../../src/manager.ts";
import { Worker } from "../../src/worker.ts";
import { waitUntil } from "../_services.ts";

/** What a run did, as counted by the handler itself. */
export interface Ledger {
  /** Bodies handled successfully. */
  done: Set<string>;
  /** Bodies whose handler threw. */
  failed: Set<string>;
}

/** Registers a raw handler on `queue` that succeeds, or throws for bodies starting with "fail". */
export function ledgerHandler(registry: JobRegistry, queue: string, ledger: Ledger): void {
  registry.registerRawHandler(queue, (job) => {
    if (job.body.startsWith("fail")) {
      ledger.failed.add(job.body);
      throw new Error(`deliberate failure of ${job.body}`);
    }
    ledger.done.add(job.body);
  });
}

/** Pushes `ok` succeeding and `bad` failing jobs (one attempt each) and runs a worker until all are settled. */
export async function runLedger(
  manager: Manager,
  registry: JobRegistry,
  queue: string,
  counts: { ok: number; bad: number },
): Promise<Ledger> {
  const ledger: Ledger = { done: new Set(), failed: new Set() };
  ledgerHandler(registry, queue, ledger);
  for (let i = 0; i < counts.ok; i++) await manager.pushRaw(queue, `ok-${i}`);
  for (let i = 0; i < counts.bad; i++) {
    await manager.pushRaw(queue, `fail-${i}`, { maxAttempts: 1 });
  }
  const worker = new Worker(manager, [queue], {
    sleep: 50,
    heartbeatMs: 0,
    concurrency: 8,
    memory: 0,
  });
  const running = worker.start();
  try {
    await waitUntil(
      async () => (await manager.size(queue)) === 0,
      60_000,
      `queue ${queue} to drain`,
    );
  } finally {
    await worker.stop();
    await running;
  }
  return ledger;
}
