/**
 * The three executables as library functions, so that a program of your own
 * (one that imports your job modules) compiles into your own `worker`,
 * `queue-cmd` or `queue-status` with your jobs built in.
 *
 * @example
 * ```ts ignore
 * // my_worker.ts; then: deno compile --allow-net --allow-read --allow-write \
 * //   --allow-env --allow-run --allow-sys -o worker my_worker.ts
 * import "./app/jobs.ts";
 * import { workerMain } from "@scaffold/queue/cli";
 * Deno.exit(await workerMain(Deno.args));
 * ```
 *
 * @module
 */

export { main as queueCmdMain } from "./queue_cmd.ts";
export { main as queueStatusMain } from "./queue_status.ts";
export { main as workerMain } from "./worker_main.ts";
