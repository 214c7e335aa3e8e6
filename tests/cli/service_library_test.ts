/**
 * The queue service as a library export (the seed's NewQueueService / Start /
 * Stop): a program of its own, run with `deno run`, whose worker processes
 * re-run that program.
 */

import assert from "node:assert/strict";
import { waitUntil } from "../_services.ts";
import { countFiles, PERMISSIONS, pushJobs, ROOT, SQLITE_ONE_QUEUE, tempSetup } from "./_cli.ts";

Deno.test("QueueService.create/start/stop in a user's program", async () => {
  const setup = await tempSetup(SQLITE_ONE_QUEUE);
  try {
    await pushJobs(setup.config, "touch", "default", 4, setup.out);
    const program = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        ...PERMISSIONS,
        `${ROOT}/tests/fixtures/service_program.ts`,
        setup.config,
        "4000",
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    await waitUntil(async () => (await countFiles(setup.out)) === 4, 20_000, "4 jobs done");
    const output = await program.output();
    const stdout = new TextDecoder().decode(output.stdout);
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.match(stdout, /^started 2 worker processes\n[\s\S]*stopped\n$/);
  } finally {
    await setup.cleanup();
  }
});
