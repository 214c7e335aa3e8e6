/**
 * The deployment recipes in examples/deploy/: the systemd unit, the launchd
 * plist and the NSSM script run `worker`, with paths as placeholders.
 */

import assert from "node:assert/strict";
import { XMLParser, XMLValidator } from "fast-xml-parser";

const DIR = new URL("../examples/deploy/", import.meta.url);
const read = (name: string): Promise<string> => Deno.readTextFile(new URL(name, DIR));

/** Sections of an INI-style unit file: section -> key -> values. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      sections.set(header[1], current = new Map());
      continue;
    }
    const pair = /^([A-Za-z]+)=(.*)$/.exec(line);
    assert.ok(pair && current, `unit line is key=value inside a section: ${line}`);
    current.set(pair[1], [...(current.get(pair[1]) ?? []), pair[2]]);
  }
  return sections;
}

Deno.test("systemd unit: [Unit]/[Service]/[Install], ExecStart runs worker, Restart=always", async () => {
  const unit = parseUnit(await read("go-admin-queue.service"));
  assert.deepEqual([...unit.keys()], ["Unit", "Service", "Install"]);
  const service = unit.get("Service")!;
  assert.match(service.get("ExecStart")![0], /^\/path\/to\/your\/app\/worker( |$)/);
  assert.equal(service.get("Restart")![0], "always");
  assert.equal(service.get("WorkingDirectory")![0], "/path/to/your/app");
  assert.equal(service.get("KillSignal")![0], "SIGTERM");
  assert.equal(unit.get("Install")!.get("WantedBy")![0], "multi-user.target");
});

Deno.test("systemd unit: systemd-analyze verify accepts it", async () => {
  let analyze: Deno.CommandOutput;
  const dir = await Deno.makeTempDir();
  try {
    // verify wants the executable to exist: point a copy at /bin/true.
    const unit = (await read("go-admin-queue.service"))
      .replaceAll("/path/to/your/app/worker", "/bin/true")
      .replaceAll("/path/to/your/app", dir)
      .replace(/^User=.*$/m, "");
    await Deno.writeTextFile(`${dir}/go-admin-queue.service`, unit);
    try {
      analyze = await new Deno.Command("systemd-analyze", {
        args: ["verify", `${dir}/go-admin-queue.service`],
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch {
      console.warn("SKIPPED: systemd-analyze is not installed here.");
      return;
    }
    const stderr = new TextDecoder().decode(analyze.stderr);
    const own = stderr.split("\n").filter((line) => line.includes("go-admin-queue.service"));
    assert.deepEqual(own, [], stderr);
    assert.equal(analyze.code, 0, stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("launchd plist: valid XML with the required keys, running worker", async () => {
  const xml = await read("com.go-admin.queue.dev.plist");
  assert.equal(XMLValidator.validate(xml), true);
  const parsed = new XMLParser({ preserveOrder: true }).parse(xml);
  const plist = parsed.find((node: Record<string, unknown>) => "plist" in node).plist;
  const dict = plist.find((node: Record<string, unknown>) => "dict" in node).dict as Record<
    string,
    unknown
  >[];
  const entries = new Map<string, Record<string, unknown>>();
  for (let i = 0; i < dict.length; i += 2) {
    const key = (dict[i].key as { "#text": string }[])[0]["#text"];
    entries.set(key, dict[i + 1]);
  }
  for (
    const key of [
      "Label",
      "ProgramArguments",
      "WorkingDirectory",
      "RunAtLoad",
      "KeepAlive",
      "StandardErrorPath",
      "StandardOutPath",
    ]
  ) {
    assert.ok(entries.has(key), `plist has ${key}`);
  }
  const text = (node: Record<string, unknown>): string =>
    (node.string as { "#text": string }[])[0]["#text"];
  assert.equal(text(entries.get("Label")!), "com.go-admin.queue.dev");
  const args = (entries.get("ProgramArguments")!.array as Record<string, unknown>[]).map(text);
  assert.equal(args[0], "/path/to/your/app/worker");
  assert.ok("true" in entries.get("KeepAlive")!);
});

Deno.test("NSSM script: installs worker.exe with the seed's names and starts it", async () => {
  const script = await read("install-service.ps1");
  for (
    const line of [
      /nssm install \$Name \$Worker/,
      /nssm set \$Name AppDirectory \$AppDir/,
      /nssm set \$Name DisplayName \$Display/,
      /nssm set \$Name Description \$Description/,
      /nssm start \$Name/,
      /\$Worker = Join-Path \$AppDir "worker\.exe"/,
      /\[string\]\$Name = "GoAdminQueue"/,
      /"Go Admin Queue Worker"/,
    ]
  ) {
    assert.match(script, line);
  }
  const pwsh = await new Deno.Command("sh", { args: ["-c", "command -v pwsh"] }).output();
  if (!pwsh.success) {
    console.warn("SKIPPED: pwsh is not installed; the PowerShell syntax check did not run.");
    return;
  }
  const parse = await new Deno.Command("pwsh", {
    args: [
      "-NoProfile",
      "-Command",
      `$e=$null; [System.Management.Automation.Language.Parser]::ParseFile('${
        new URL("install-service.ps1", DIR).pathname
      }', [ref]$null, [ref]$e) | Out-Null; exit $e.Count`,
    ],
  }).output();
  assert.equal(parse.code, 0);
});
