/**
 * The shared frame of the three executables: help and version, usage errors
 * (exit 2), runtime errors (exit 1, one sentence, no secrets).
 *
 * @module
 */

import {
  EXIT_FAILURE,
  EXIT_USAGE,
  type FlagSpec,
  type FlagValues,
  formatHelp,
  type HelpText,
  parseFlags,
  UsageError,
  VERSION,
} from "./flags.ts";

/** Hides passwords in URLs (`scheme://user:secret@host`) and `password=` pairs. */
export function redact(text: string): string {
  return text
    .replace(/(\w+:\/\/[^:/@\s]*:)[^@\s]+@/g, "$1***@")
    .replace(/(password["']?\s*[:=]\s*["']?)[^"'\s,}]+/gi, "$1***");
}

/** The one sentence printed for an error, without a stack trace or secrets. */
export function errorSentence(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const first = message.split("\n")[0].trim() || String(error);
  return redact(first);
}

/**
 * Runs an executable: `-help` (and no flag, unless `helpWhenEmpty` is false) prints help, `-version`
 * prints the version, a usage error prints one sentence (exit 2), and an
 * error thrown by `run` prints one sentence (exit 1). Returns the exit code.
 */
export async function runMain(
  help: HelpText,
  specs: readonly FlagSpec[],
  args: readonly string[],
  run: (flags: FlagValues) => Promise<number>,
  helpWhenEmpty = true,
): Promise<number> {
  let flags: FlagValues;
  try {
    flags = parseFlags(args, specs);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${help.program}: ${error.message}`);
    return EXIT_USAGE;
  }
  if (flags.version) {
    console.log(`${help.program} ${VERSION}`);
    return 0;
  }
  if (flags.help || (helpWhenEmpty && Object.keys(flags).length === 0)) {
    console.log(formatHelp(help, specs));
    return 0;
  }
  try {
    return await run(flags);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`${help.program}: ${error.message}`);
      return EXIT_USAGE;
    }
    console.error(`${help.program}: ${errorSentence(error)}`);
    if (flags.debug && error instanceof Error && error.stack) {
      console.error(redact(error.stack));
    }
    return EXIT_FAILURE;
  }
}
