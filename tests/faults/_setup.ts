/**
 * One fault test's surroundings: a temp dir, a store, a config file, a ledger,
 * and pushing numbered jobs into the queue.
 *
 * @module
 */

import { loadConfig } from "../../src/config.ts";
import { Manager } from "../../src/manager.ts";
import { LedgerJob } from "../fixtures/faults_jobs.ts";
import { faultConfig, makeStore, type Store, type StoreName } from "./_stores.ts";

/** What {@link setUp} made. */
export interface FaultSetup {
  /** The temp dir. */
  dir: string;
  /** The store. */
  store: Store;
  /** The config file. */
  config: string;
  /** The ledger file. */
  ledger: string;
  /** Pushes jobs numbered from..from+count-1 (in batches) with the given fields. */
  push: (from: number, count: number, fields?: Partial<LedgerJob>) => Promise<void>;
  /** A connected manager on the store (closed by cleanup). */
  manager: () => Promise<Manager>;
  /** Closes the manager, removes the store's data and the temp dir. */
  cleanup: () => Promise<void>;
}

/** Creates the temp dir, store and config for one test. */
export async function setUp(
  name: StoreName,
  queue: { name: string; options: string; worker?: string; extra?: string },
  address?: { host: string; port: number },
): Promise<FaultSetup> {
  const dir = await Deno.makeTempDir({ prefix: `queue_faults_${name}_` });
  const store = await makeStore(name, dir, address);
  const config = `${dir}/config.yaml`;
  await Deno.writeTextFile(config, faultConfig(store, queue));
  const ledger = `${dir}/ledger.jsonl`;
  let manager: Manager | undefined;
  const open = async () => {
    manager ??= new Manager(await loadConfig(config));
    await manager.connect();
    return manager;
  };
  return {
    dir,
    store,
    config,
    ledger,
    manager: open,
    push: async (from, count, fields = {}) => {
      const m = await open();
      for (let start = from; start < from + count; start += 500) {
        const jobs = [];
        for (let n = start; n < Math.min(from + count, start + 500); n++) {
          jobs.push(Object.assign(new LedgerJob({ queue: queue.name }), { ledger, n, ...fields }));
        }
        await m.pushBulk(jobs);
      }
    },
    cleanup: async () => {
      // A connection cut by a fault test may never answer: do not wait for it for long.
      await Promise.race([
        manager?.close().catch(() => {}),
        new Promise((resolve) => setTimeout(resolve, 3000)),
      ]);
      await store.cleanup().catch((error) => console.warn(`cleanup: ${error.message}`));
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
