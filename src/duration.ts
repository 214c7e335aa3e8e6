/**
 * Durations as the seed writes them: a number of seconds (`sleep: 3`) or a Go
 * duration string (`read_timeout: 3s`, `500ms`, `1m30s`, `1h`).
 *
 * @module
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;

/**
 * Parses a duration into milliseconds. Numbers are seconds; strings are Go
 * durations or plain numbers of seconds. Returns `undefined` when the value is
 * not a duration, so the caller can name the key in its error.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * parseDuration(3); // 3000
 * parseDuration("1m30s"); // 90000
 * ```
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === "number") {
    return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  }
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  if (text === "0") return 0;
  let total = 0;
  PART.lastIndex = 0;
  let consumed = 0;
  while (consumed < text.length) {
    PART.lastIndex = consumed;
    const match = PART.exec(text);
    if (!match) return undefined;
    total += Number(match[1]) * UNIT_MS[match[2]];
    consumed = PART.lastIndex;
  }
  return consumed > 0 ? Math.round(total) : undefined;
}

/** Formats milliseconds for log lines: `850 ms`, `3.2 s`, `5 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))} s`;
  return `${Number((ms / 60_000).toFixed(1))} min`;
}
