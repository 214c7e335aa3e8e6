/**
 * Entry point of `worker` (see `src/cli/worker_main.ts`).
 *
 * @module
 */
import { main } from "../src/cli/worker_main.ts";

Deno.exit(await main(Deno.args));
