/**
 * The shared Go-style flag parser of the executables (implemented in
 * `src/cli/flags.ts`, so the library can export the entry points).
 *
 * @module
 */
export * from "../src/cli/flags.ts";
