/**
 * A Go-style command-line flag parser for the three executables: `-flag`,
 * `--flag`, `-flag=value`, `-flag value`, boolean flags, `-h`/`-help` and
 * `-version`. Mistakes become a {@link UsageError}: one sentence naming the
 * flag, and exit code 2.
 *
 * @module
 */

import denoJson from "../../deno.json" with { type: "json" };

/** The package version, from `deno.json`. */
export const VERSION: string = denoJson.version;

/** Exit code of a usage error (an unknown flag or a bad value), as Go's `flag` package. */
export const EXIT_USAGE = 2;
/** Exit code of a runtime error (unreachable backend, bad config). */
export const EXIT_FAILURE = 1;

/** One flag an executable accepts. */
export interface FlagSpec {
  /** The flag's name without dashes, e.g. "queue". */
  name: string;
  /** "boolean" flags take no value (`-start`, `-start=false`); the others need one. */
  type: "boolean" | "string" | "number";
  /** One line for the help text. */
  description: string;
  /** How the value is shown in the help text (default "VALUE"). */
  placeholder?: string;
  /** Accepted values, checked before the command runs. */
  choices?: readonly string[];
}

/** Parsed flags: names to values; flags not given are absent. */
export type FlagValues = Record<string, string | number | boolean | undefined>;

/** A mistake on the command line; the message is one sentence naming the flag. */
export class UsageError extends Error {
  /** Creates a usage error with the sentence to print. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const BUILTIN: FlagSpec[] = [
  { name: "help", type: "boolean", description: "Show this help and exit." },
  { name: "version", type: "boolean", description: "Print the version and exit." },
];

function parseBoolean(flag: string, text: string): boolean {
  const lower = text.toLowerCase();
  if (["1", "t", "true", "yes", "on"].includes(lower)) return true;
  if (["0", "f", "false", "no", "off"].includes(lower)) return false;
  throw new UsageError(`Flag -${flag} takes true or false, not "${text}".`);
}

function convert(spec: FlagSpec, text: string): string | number {
  if (spec.type === "number") {
    const value = Number(text);
    if (text.trim() === "" || !Number.isFinite(value) || value < 0) {
      throw new UsageError(`Flag -${spec.name} needs a non-negative number, not "${text}".`);
    }
    return value;
  }
  if (text === "") throw new UsageError(`Flag -${spec.name} needs a non-empty value.`);
  if (spec.choices && !spec.choices.includes(text)) {
    throw new UsageError(
      `Flag -${spec.name} must be one of ${spec.choices.join(", ")}, not "${text}".`,
    );
  }
  return text;
}

/**
 * Parses `args` against `specs` (plus the built-in `-help`, `-h` and `-version`).
 * A leading `--` (as `deno task name -- ...` may pass) is ignored; positional
 * arguments are refused, since none of the executables takes any.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./flags.ts";
 * const flags = parseFlags(["-clear", "--queue", "default"], [
 *   { name: "clear", type: "boolean", description: "Clear a queue." },
 *   { name: "queue", type: "string", description: "Queue name." },
 * ]);
 * console.log(flags.clear, flags.queue); // true "default"
 * ```
 */
export function parseFlags(args: readonly string[], specs: readonly FlagSpec[]): FlagValues {
  const known = new Map<string, FlagSpec>();
  for (const spec of [...BUILTIN, ...specs]) known.set(spec.name, spec);
  known.set("h", BUILTIN[0]);
  const values: FlagValues = {};
  const rest = args[0] === "--" ? args.slice(1) : [...args];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === "--") {
      if (i + 1 < rest.length) throw new UsageError(`Unexpected argument "${rest[i + 1]}".`);
      break;
    }
    const match = /^--?([^-=][^=]*)(?:=([\s\S]*))?$/.exec(arg);
    if (!match) throw new UsageError(`Unexpected argument "${arg}"; flags start with "-".`);
    const [, name, inline] = match;
    const spec = known.get(name);
    if (!spec) throw new UsageError(`Unknown flag -${name}; run with -help to see the flags.`);
    if (spec.type === "boolean") {
      values[spec.name] = inline === undefined ? true : parseBoolean(name, inline);
      continue;
    }
    let text = inline;
    if (text === undefined) {
      if (i + 1 >= rest.length) throw new UsageError(`Flag -${name} needs a value.`);
      text = rest[++i];
    }
    values[spec.name] = convert(spec, text);
  }
  return values;
}

/** What the help text of an executable says. */
export interface HelpText {
  /** The executable's name, e.g. "queue-cmd". */
  program: string;
  /** One or two sentences on what it does. */
  summary: string;
  /** Example command lines. */
  examples?: string[];
}

/** Formats the help text: usage, the flags table and examples. */
export function formatHelp(help: HelpText, specs: readonly FlagSpec[]): string {
  const rows = [...specs, ...BUILTIN].map((spec) => {
    const value = spec.type === "boolean" ? "" : `=${spec.placeholder ?? "VALUE"}`;
    return [`  -${spec.name}${value}`, spec.description];
  });
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  const lines = [
    `${help.program} ${VERSION}: ${help.summary}`,
    "",
    `Usage: ${help.program} [flags]`,
    "",
    "Flags (-flag, --flag, -flag=value and -flag value all work):",
    ...rows.map(([left, right]) => left.padEnd(width) + right),
  ];
  if (help.examples?.length) {
    lines.push("", "Examples:", ...help.examples.map((line) => `  ${line}`));
  }
  return lines.join("\n") + "\n";
}
