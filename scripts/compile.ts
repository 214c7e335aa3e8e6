/**
 * `deno task compile`: builds the three executables (`queue-cmd`,
 * `queue-status`, `worker`) with `deno compile` into `dist/<target>/`.
 *
 * ```sh
 * deno task compile                       # all five release targets
 * deno task compile --target=host         # this machine only
 * deno task compile --target=x86_64-pc-windows-msvc,aarch64-apple-darwin
 * deno task compile --version=v0.1.0 --dry-run   # check the tag against deno.json
 * ```
 *
 * `deno compile` copies a base binary (`denort`) for each target and appends
 * the program to it. Deno takes that binary from `DENORT_BIN` when the
 * variable is set (for every `--target`: it never looks at the target then),
 * otherwise from `$DENO_DIR/dl/release/v<deno version>/denort-<target>.zip`,
 * downloading it from dl.deno.land when it is not cached. So with
 * `DENORT_BIN` set this script builds the host target only, and without it
 * the script probes the cache and the download host first and stops with one
 * sentence when the base binary cannot be had.
 *
 * @module
 */

/** The release targets, as `deno compile --target` names them. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

/** One release target. */
export type Target = typeof TARGETS[number];

/** An executable: its file name (without `.exe`) and its entry point. */
export interface Executable {
  /** File name of the binary, without the Windows `.exe` suffix. */
  name: string;
  /** Entry point, relative to the repository root. */
  entry: string;
}

/** The three executables the release ships. */
export const EXECUTABLES: readonly Executable[] = [
  { name: "queue-cmd", entry: "cli/queue_cmd.ts" },
  { name: "queue-status", entry: "cli/queue_status.ts" },
  { name: "worker", entry: "cli/worker.ts" },
];

/**
 * The permissions baked into every binary: network (Redis, MySQL, HTTP
 * handlers), files (config, SQLite, logs), environment (config overrides),
 * subprocesses (worker processes, command handlers) and system information
 * (memory limits). Never `-A`.
 */
export const PERMISSION_FLAGS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-sys",
];

/**
 * Modules loaded through specifiers `deno compile` cannot see. Empty: the
 * drivers are imported with literal specifiers, which `deno compile` follows;
 * job modules from the config's `jobs:` key cannot be compiled in at all
 * (denoland/deno#18327), which the README explains.
 */
export const INCLUDES: readonly string[] = [];

/** The download host of `denort`. */
export const DOWNLOAD_HOST = "dl.deno.land";

/** The sentence printed (and exit code 1) when no base binary can be had. */
export function baseBinaryUnavailable(target: string, denoVersion: string): string {
  return `deno compile cannot get its denort base binary for ${target}: ${DOWNLOAD_HOST} is ` +
    `unreachable and DENORT_BIN is not set, so set DENORT_BIN to a denort binary of Deno ` +
    `${denoVersion} for this machine (host target only) or run deno task compile on a machine ` +
    `that can reach ${DOWNLOAD_HOST}.`;
}

/** The URL `deno compile` downloads the base binary of `target` from. */
export function denortUrl(target: string, denoVersion: string): string {
  return `https://${DOWNLOAD_HOST}/release/v${denoVersion}/denort-${target}.zip`;
}

/** The output path of one executable for one target, relative to `outDir`. */
export function outputPath(outDir: string, target: string, name: string): string {
  return `${outDir}/${target}/${name}${target.includes("windows") ? ".exe" : ""}`;
}

/** The `deno compile` arguments for one executable and one target. */
export function compileArgs(exe: Executable, target: string, outDir: string): string[] {
  return [
    "compile",
    "--target",
    target,
    "--output",
    outputPath(outDir, target, exe.name),
    ...PERMISSION_FLAGS,
    ...INCLUDES.flatMap((path) => ["--include", path]),
    exe.entry,
  ];
}

/** The tag or version given to `--version`, reduced to a bare version. */
export function normaliseVersion(tag: string): string {
  return tag.replace(/^refs\/tags\//, "").replace(/^v/, "");
}

/** Options of {@link main}, parsed from the command line. */
export interface CompileOptions {
  /** Targets to build. */
  targets: string[];
  /** True when the targets came from the command line. */
  explicitTargets: boolean;
  /** Expected version (from a tag), checked against deno.json. */
  expectVersion?: string;
  /** Output directory (default "dist"). */
  outDir: string;
  /** Print the plan, build nothing. */
  dryRun: boolean;
  /** Skip running the host binaries with -version after the build. */
  noVerify: boolean;
}

const USAGE = `Usage: deno task compile [--target=all|host|TRIPLE[,TRIPLE]] [--version=TAG] ` +
  `[--out=DIR] [--dry-run] [--no-verify]`;

class Failure extends Error {
  constructor(message: string, readonly code: number = 1) {
    super(message);
  }
}

/** Parses the command line; throws a usage failure (exit 2) on a bad flag. */
export function parseArgs(args: string[]): CompileOptions {
  const options: CompileOptions = {
    targets: [...TARGETS],
    explicitTargets: false,
    outDir: "dist",
    dryRun: false,
    noVerify: false,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const [flag, inline] = arg.includes("=") ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = (): string => {
      const next = inline ?? args[++i];
      if (next === undefined || next === "") {
        throw new Failure(`${flag} needs a value. ${USAGE}`, 2);
      }
      return next;
    };
    if (flag === "--target") {
      options.targets = resolveTargets(value());
      options.explicitTargets = true;
    } else if (flag === "--version") options.expectVersion = normaliseVersion(value());
    else if (flag === "--out") options.outDir = value().replace(/[\\/]+$/, "");
    else if (flag === "--dry-run" && inline === undefined) options.dryRun = true;
    else if (flag === "--no-verify" && inline === undefined) options.noVerify = true;
    else if (flag === "-h" || flag === "--help") throw new Failure(USAGE, 0);
    else throw new Failure(`Unknown option ${arg}. ${USAGE}`, 2);
  }
  return options;
}

function resolveTargets(value: string): string[] {
  if (value === "all") return [...TARGETS];
  if (value === "host") return [Deno.build.target];
  const targets = value.split(",").map((target) => target.trim()).filter(Boolean);
  for (const target of targets) {
    if (!(TARGETS as readonly string[]).includes(target)) {
      throw new Failure(
        `Unknown target ${target}; the targets are all, host, ${TARGETS.join(", ")}.`,
        2,
      );
    }
  }
  return targets;
}

const ROOT = new URL("../", import.meta.url);
const ROOT_PATH = decodeURIComponent(ROOT.pathname).replace(/^\/([A-Za-z]:)/, "$1");

async function packageVersion(): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  if (typeof config.version !== "string") throw new Failure("deno.json has no version.");
  return config.version;
}

/** Reads the CPU architecture and OS family of an executable's header. */
export function executableKind(bytes: Uint8Array): string | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 64) return undefined;
  if (view.getUint32(0) === 0x7f454c46) {
    const machine = view.getUint16(18, true);
    return machine === 0x3e ? "x86_64-linux" : machine === 0xb7 ? "aarch64-linux" : "other-linux";
  }
  if (view.getUint32(0, true) === 0xfeedfacf) {
    const cpu = view.getUint32(4, true);
    return cpu === 0x01000007 ? "x86_64-darwin" : cpu === 0x0100000c ? "aarch64-darwin" : undefined;
  }
  if (view.getUint32(0) === 0xcafebabe) return "universal-darwin";
  if (bytes[0] === 0x4d && bytes[1] === 0x5a) {
    const pe = view.getUint32(0x3c, true);
    if (pe + 6 > bytes.length) return "windows";
    const machine = view.getUint16(pe + 4, true);
    return machine === 0x8664
      ? "x86_64-windows"
      : machine === 0xaa64
      ? "aarch64-windows"
      : "windows";
  }
  return undefined;
}

function kindMatches(kind: string | undefined, target: string): boolean {
  if (kind === undefined) return false;
  const [arch, os] = kind.split("-");
  const targetOs = target.includes("linux")
    ? "linux"
    : target.includes("darwin")
    ? "darwin"
    : "windows";
  return os === targetOs && (arch === "universal" || arch === "windows" || target.startsWith(arch));
}

async function checkDenortBin(path: string, denoVersion: string): Promise<void> {
  let head: Uint8Array;
  try {
    using file = await Deno.open(path);
    head = new Uint8Array(4096);
    const read = await file.read(head);
    head = head.subarray(0, read ?? 0);
  } catch (error) {
    throw new Failure(
      `DENORT_BIN is ${path}, which cannot be read (${(error as Error).message}); point it at ` +
        `a denort binary of Deno ${denoVersion}.`,
    );
  }
  if (!kindMatches(executableKind(head), Deno.build.target)) {
    throw new Failure(
      `DENORT_BIN is ${path}, which is not an executable for ${Deno.build.target}; deno ` +
        `compile uses it for every target, so it must be the denort of Deno ${denoVersion} ` +
        `for this machine.`,
    );
  }
}

async function denoDir(): Promise<string | undefined> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!output.success) return undefined;
  return JSON.parse(new TextDecoder().decode(output.stdout)).denoDir;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * Makes sure `deno compile` can get the base binary of every target: cached
 * in DENO_DIR, or downloadable (probed with a HEAD request).
 */
async function checkBaseBinaries(targets: string[], denoVersion: string): Promise<void> {
  const dir = await denoDir();
  for (const target of targets) {
    const cached = dir !== undefined &&
      await isFile(`${dir}/dl/release/v${denoVersion}/denort-${target}.zip`);
    if (cached) continue;
    let response: Response;
    try {
      response = await fetch(denortUrl(target, denoVersion), {
        method: "HEAD",
        signal: AbortSignal.timeout(15_000),
      });
      await response.body?.cancel();
    } catch (error) {
      // A network failure (DNS, refused, TLS) is a TypeError; a hang ends in a TimeoutError.
      if (error instanceof TypeError || (error as Error).name === "TimeoutError") {
        throw new Failure(baseBinaryUnavailable(target, denoVersion));
      }
      throw error;
    }
    if (response.status === 404) {
      throw new Failure(
        `${DOWNLOAD_HOST} has no denort for Deno ${denoVersion} and ${target} (HTTP 404), so ` +
          `build with a released Deno version or set DENORT_BIN for the host target.`,
      );
    }
    if (!response.ok) throw new Failure(baseBinaryUnavailable(target, denoVersion));
  }
}

const DOWNLOAD_ERROR = /Setting up base binary|dl\.deno\.land|denort-[\w-]+\.zip/;

async function compileOne(exe: Executable, target: string, options: CompileOptions): Promise<void> {
  const args = compileArgs(exe, target, options.outDir);
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT_PATH,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (output.success) return;
  const stderr = new TextDecoder().decode(output.stderr);
  if (DOWNLOAD_ERROR.test(stderr) && !Deno.env.get("DENORT_BIN")) {
    throw new Failure(baseBinaryUnavailable(target, Deno.version.deno));
  }
  console.error(stderr.trimEnd());
  throw new Failure(`deno compile of ${exe.entry} for ${target} failed (exit ${output.code}).`);
}

function resolvePath(path: string): string {
  return /^([A-Za-z]:)?[\\/]/.test(path) ? path : `${ROOT_PATH}/${path}`;
}

/** Runs a host binary with -version and checks that it prints `version`. */
async function verifyHostBinary(
  path: string,
  version: string,
  fromDenortBin: boolean,
): Promise<void> {
  const child = new Deno.Command(resolvePath(path), {
    args: ["-version"],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const output = await child.output().finally(() => clearTimeout(timer));
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (output.success && text.includes(version)) return;
  const hint = fromDenortBin
    ? ` DENORT_BIN must be the denort binary of Deno ${Deno.version.deno}, not deno itself.`
    : "";
  throw new Failure(
    `${path} -version did not print ${version} (exit ${output.code}: ` +
      `${JSON.stringify(text.trim().slice(0, 120))}).${hint}`,
  );
}

/** Builds what `args` asks for; returns the process exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    const options = parseArgs(args);
    const version = await packageVersion();
    if (options.expectVersion !== undefined && options.expectVersion !== version) {
      throw new Failure(
        `The tag says version ${options.expectVersion} but deno.json says ${version}; set ` +
          `deno.json's version to ${options.expectVersion} before tagging.`,
      );
    }
    const denortBin = Deno.env.get("DENORT_BIN");
    const host = Deno.build.target;
    if (denortBin) {
      if (options.explicitTargets && !options.targets.includes(host)) {
        throw new Failure(
          `DENORT_BIN is set, and deno compile would use it for ${options.targets.join(", ")} ` +
            `too, so only the host target ${host} can be built; unset DENORT_BIN to build ` +
            `other targets.`,
          2,
        );
      }
      if (options.targets.some((target) => target !== host)) {
        console.error(
          `DENORT_BIN is set: building only the host target ${host} (deno compile uses ` +
            `DENORT_BIN for every target; unset it to build the others).`,
        );
      }
      options.targets = [host];
      await checkDenortBin(denortBin, Deno.version.deno);
    }
    console.error(
      `@scaffold/queue ${version}, Deno ${Deno.version.deno}: ${options.targets.join(", ")}`,
    );
    if (options.dryRun) {
      for (const target of options.targets) {
        for (const exe of EXECUTABLES) {
          console.log(["deno", ...compileArgs(exe, target, options.outDir)].join(" "));
        }
      }
      return 0;
    }
    if (!denortBin) await checkBaseBinaries(options.targets, Deno.version.deno);
    for (const target of options.targets) {
      for (const exe of EXECUTABLES) {
        await compileOne(exe, target, options);
        console.error(`built ${outputPath(options.outDir, target, exe.name)}`);
      }
      if (target === host && !options.noVerify) {
        const paths = EXECUTABLES.map((exe) => outputPath(options.outDir, target, exe.name));
        try {
          for (const path of paths) await verifyHostBinary(path, version, !!denortBin);
        } catch (error) {
          // A binary that does not run its entry point must not be shipped by mistake.
          for (const path of paths) await Deno.remove(resolvePath(path)).catch(() => {});
          throw error;
        }
        console.error(`verified: the ${host} binaries print ${version} for -version`);
      }
    }
    return 0;
  } catch (error) {
    if (!(error instanceof Failure)) throw error;
    (error.code === 0 ? console.log : console.error)(error.message);
    return error.code;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
