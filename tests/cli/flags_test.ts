import assert from "node:assert/strict";
import { type FlagSpec, formatHelp, parseFlags, UsageError, VERSION } from "../../cli/flags.ts";
import denoJson from "../../deno.json" with { type: "json" };

const SPECS: FlagSpec[] = [
  { name: "start", type: "boolean", description: "Start." },
  { name: "queue", type: "string", description: "Queue." },
  { name: "max-jobs", type: "number", description: "Jobs." },
  { name: "driver", type: "string", description: "Driver.", choices: ["redis", "sqlite"] },
];

Deno.test("flags: -flag, --flag, -flag=value and -flag value", () => {
  assert.deepEqual(parseFlags(["-start"], SPECS), { start: true });
  assert.deepEqual(parseFlags(["--start"], SPECS), { start: true });
  assert.deepEqual(parseFlags(["-queue=default"], SPECS), { queue: "default" });
  assert.deepEqual(parseFlags(["--queue=default"], SPECS), { queue: "default" });
  assert.deepEqual(parseFlags(["-queue", "high"], SPECS), { queue: "high" });
  assert.deepEqual(parseFlags(["--queue", "high", "-start"], SPECS), {
    queue: "high",
    start: true,
  });
  assert.deepEqual(parseFlags(["-max-jobs=5"], SPECS), { "max-jobs": 5 });
  assert.deepEqual(parseFlags(["-queue=a=b"], SPECS), { queue: "a=b" });
});

Deno.test("flags: booleans take =true/=false, never the next argument", () => {
  assert.deepEqual(parseFlags(["-start=false"], SPECS), { start: false });
  assert.deepEqual(parseFlags(["-start=1"], SPECS), { start: true });
  assert.throws(() => parseFlags(["-start", "yes"], SPECS), /Unexpected argument "yes"/);
  assert.throws(() => parseFlags(["-start=maybe"], SPECS), /Flag -start takes true or false/);
});

Deno.test("flags: a leading -- (deno task name -- ...) is ignored", () => {
  assert.deepEqual(parseFlags(["--", "-start"], SPECS), { start: true });
});

Deno.test("flags: mistakes are one UsageError sentence naming the flag", () => {
  const cases: [string[], RegExp][] = [
    [["-bogus"], /^Unknown flag -bogus; run with -help to see the flags\.$/],
    [["--bogus=1"], /^Unknown flag -bogus;/],
    [["-queue"], /^Flag -queue needs a value\.$/],
    [["-queue="], /^Flag -queue needs a non-empty value\.$/],
    [["-max-jobs=ten"], /^Flag -max-jobs needs a non-negative number, not "ten"\.$/],
    [["-max-jobs=-1"], /^Flag -max-jobs needs a non-negative number/],
    [["-driver=oracle"], /^Flag -driver must be one of redis, sqlite, not "oracle"\.$/],
    [["start"], /^Unexpected argument "start"; flags start with "-"\.$/],
    [["---start"], /Unexpected argument/],
  ];
  for (const [args, pattern] of cases) {
    assert.throws(() => parseFlags(args, SPECS), (error: unknown) => {
      assert.ok(error instanceof UsageError, `${args} gives a UsageError`);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes("\n"), "one line");
      return true;
    });
  }
});

Deno.test("flags: -h, -help and -version are built in", () => {
  assert.deepEqual(parseFlags(["-h"], SPECS), { help: true });
  assert.deepEqual(parseFlags(["--help"], SPECS), { help: true });
  assert.deepEqual(parseFlags(["-version"], SPECS), { version: true });
  assert.equal(VERSION, denoJson.version);
});

Deno.test("flags: help lists every flag with its placeholder", () => {
  const help = formatHelp(
    { program: "demo", summary: "does things.", examples: ["demo -start"] },
    SPECS,
  );
  for (
    const text of ["-start", "-queue=VALUE", "-max-jobs=VALUE", "-help", "-version", "demo -start"]
  ) {
    assert.ok(help.includes(text), `help mentions ${text}`);
  }
  assert.ok(help.startsWith(`demo ${VERSION}: does things.`));
});
