import assert from "node:assert/strict";
import { describeJobEvent, Logger, loggerFromConfig } from "../../src/log.ts";

function capture(
  options: ConstructorParameters<typeof Logger>[0] = {},
): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: new Logger({ ...options, sink: (line) => lines.push(line) }), lines };
}

const base = { jobId: "42", queue: "default", jobType: "SendEmail", attempt: 1 };

Deno.test("log: one line per job event", () => {
  assert.equal(
    describeJobEvent({ ...base, type: "done", durationMs: 12 }).text,
    "job 42 (SendEmail) on default done in 12 ms",
  );
  assert.equal(
    describeJobEvent({ ...base, type: "retrying", retryInMs: 30_000, error: "smtp down" }).text,
    "job 42 (SendEmail) on default failed, attempt 1: smtp down; retrying in 30 s",
  );
  assert.equal(describeJobEvent({ ...base, type: "failed", error: "boom" }).level, "error");
  assert.equal(
    describeJobEvent({ ...base, type: "started" }).text,
    "job 42 (SendEmail) on default started, attempt 1",
  );
  assert.equal(
    describeJobEvent({ ...base, type: "queued" }).text,
    "job 42 (SendEmail) on default queued",
  );
});

Deno.test("log: levels filter; started lines only when verbose", () => {
  const quiet = capture({ level: "warn" });
  quiet.logger.info("hidden");
  quiet.logger.warn("shown");
  quiet.logger.job({ ...base, type: "done", durationMs: 1 });
  quiet.logger.job({ ...base, type: "failed", error: "x" });
  assert.equal(quiet.lines.length, 2);
  assert.match(quiet.lines[0], /WARN {2}\[queue\] shown$/);
  const normal = capture();
  normal.logger.job({ ...base, type: "started" });
  normal.logger.job({ ...base, type: "done", durationMs: 5 });
  assert.equal(normal.lines.length, 1);
  const verbose = capture({ verbose: true });
  verbose.logger.job({ ...base, type: "started" });
  assert.equal(verbose.lines.length, 1);
});

Deno.test("log: json format and a log file", async () => {
  const file = await Deno.makeTempFile();
  try {
    const logger = new Logger({ format: "json", file, name: "worker", sink: () => {} });
    logger.job({ ...base, type: "done", durationMs: 7.4 });
    logger.close();
    const record = JSON.parse((await Deno.readTextFile(file)).trim());
    assert.equal(record.level, "info");
    assert.equal(record.name, "worker");
    assert.equal(record.msg, "job 42 (SendEmail) on default done in 7 ms");
    assert.equal(record.ms, 7);
    assert.equal(record.queue, "default");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("log: -debug and -v from the flags", () => {
  const debug = loggerFromConfig({ level: "info", format: "text" }, { debug: true, name: "x" });
  assert.equal(debug.level, "debug");
  assert.equal(debug.verbose, true);
  const verbose = loggerFromConfig({ level: "info", format: "text" }, { verbose: true, name: "x" });
  assert.equal(verbose.level, "info");
  assert.equal(verbose.verbose, true);
});
