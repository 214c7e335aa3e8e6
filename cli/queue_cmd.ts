/**
 * Entry point of `queue-cmd` (see `src/cli/queue_cmd.ts`).
 *
 * @module
 */
import { main } from "../src/cli/queue_cmd.ts";

Deno.exit(await main(Deno.args));
