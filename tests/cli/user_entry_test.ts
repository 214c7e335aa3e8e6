/**
 * A user's own three-line entry files (what `deno compile` turns into their
 * own `worker` / `queue-cmd` with their jobs built in), run with `deno run`:
 * the jobs work without the `jobs:` config key, and the queue service's worker
 * processes re-run the user's entry.
 */

import assert from "node:assert/strict";
import { waitUntil } from "../_services.ts";
import {
  countFiles,
  PERMISSIONS,
  pushJobs,
  ROOT,
  run,
  SQLITE_ONE_QUEUE,
  tempSetup,
} from "./_cli.ts";

async function runEntry(entry: string, args: string[]): Promise<Deno.CommandOutput> {
  return await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...PERMISSIONS, `${ROOT}/tests/fixtures/${entry}`, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
}

Deno.test("a user's worker entry runs their job classes with no jobs: key", async () => {
  const setup = await tempSetup(SQLITE_ONE_QUEUE);
  try {
    await pushJobs(setup.config, "touch", "default", 3, setup.out);
    const output = await runEntry("my_worker.ts", [
      "-queue=default",
      "-max-jobs=3",
      `-config=${setup.config}`,
    ]);
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.equal(await countFiles(setup.out), 3);
  } finally {
    await setup.cleanup();
  }
});

Deno.test("a user's queue-cmd entry: the service's workers re-run that entry", async () => {
  const setup = await tempSetup(SQLITE_ONE_QUEUE);
  const service = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...PERMISSIONS,
      `${ROOT}/tests/fixtures/my_queue_cmd.ts`,
      "-start",
      "-debug",
      `-config=${setup.config}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let log = "";
  const pump = (async () => {
    for await (const chunk of service.stderr.pipeThrough(new TextDecoderStream())) log += chunk;
  })();
  try {
    await waitUntil(() => /queue service started: 2 worker/.test(log), 20_000, "service start");
    assert.match(log, /my_queue_cmd\.ts/, "workers run the user's entry");
    await pushJobs(setup.config, "touch", "default", 4, setup.out);
    await waitUntil(async () => (await countFiles(setup.out)) === 4, 20_000, "4 jobs done");
    const stop = await run("queue-cmd", ["-stop", `-config=${setup.config}`]);
    assert.equal(stop.code, 0);
    assert.equal((await service.status).code, 0);
    await pump;
    await service.stdout.cancel();
  } finally {
    try {
      service.kill("SIGKILL");
    } catch {
      // Exited.
    }
    await setup.cleanup();
  }
});
