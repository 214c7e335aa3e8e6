/** The README's first command, `deno task demo`, and the seed's examples. */
import assert from "node:assert/strict";

Deno.test("deno task demo runs the seed's examples on embedded SQLite with no server", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../examples/queue/main.ts", import.meta.url).pathname],
      env: { QUEUE_DEMO_DB: `${dir}/demo.db` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(stdout);
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    assert.match(out, /Processing message: Hello, Queue!/);
    assert.match(out, /Sent "Welcome!" to Ada <user@example\.com>/);
    assert.match(out, /Raw email to user@example\.com: Hello World/);
    assert.match(out, /Processing message: I was delayed 2 s/);
    assert.match(out, /Order 42 processed on attempt 3/);
    assert.match(out, /Done: 5 succeeded, 1 in the failed store/);
    assert.ok(
      out.indexOf("SendWelcomeEmailJob") < out.indexOf("ExampleJob"),
      "high priority first",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
