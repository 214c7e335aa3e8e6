/**
 * Entry point of `queue-status` (see `src/cli/queue_status.ts`).
 *
 * @module
 */
import { main } from "../src/cli/queue_status.ts";

Deno.exit(await main(Deno.args));
