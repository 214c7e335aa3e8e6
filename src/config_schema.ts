/**
 * Validation primitives for the YAML config: each reads one key of a parsed
 * block, checks its type, and throws a ConfigError naming file, key and problem.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";
import { parseDuration } from "./duration.ts";

/** A parsed YAML mapping being read, with where it came from. */
export class Block {
  /** The file name, for messages. */
  readonly source: string;
  /** The dotted path of this block, e.g. "queue.worker". */
  readonly path: string;
  readonly #values: Record<string, unknown>;

  /** Wraps a mapping; throws when `value` is not one. */
  constructor(source: string, path: string, value: unknown) {
    this.source = source;
    this.path = path;
    if (value === undefined || value === null) value = {};
    if (typeof value !== "object" || Array.isArray(value)) {
      throw this.error(path, "must be a mapping of keys to values");
    }
    this.#values = value as Record<string, unknown>;
  }

  /** A ConfigError for `key` with the problem stated. */
  error(key: string, problem: string): ConfigError {
    return new ConfigError(`${this.source}: ${key} ${problem}.`);
  }

  /** Throws for the first key not in `allowed`, suggesting the closest known key. */
  only(allowed: readonly string[]): this {
    for (const key of Object.keys(this.#values)) {
      if (!allowed.includes(key)) {
        const hint = closest(key, allowed);
        throw this.error(
          this.#key(key),
          `is not a known key${hint ? ` (did you mean "${hint}"?)` : ""}; known keys: ${
            allowed.join(", ")
          }`,
        );
      }
    }
    return this;
  }

  /** The keys present. */
  keys(): string[] {
    return Object.keys(this.#values);
  }

  /** The raw value of a key. */
  raw(key: string): unknown {
    return this.#values[key];
  }

  /** A nested block. */
  block(key: string): Block {
    return new Block(this.source, this.#key(key), this.#values[key]);
  }

  #key(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  /** A string value, or `fallback` when absent. */
  string(key: string, fallback: string): string;
  /** A string value, or undefined when absent. */
  string(key: string): string | undefined;
  string(key: string, fallback?: string): string | undefined {
    const value = this.#values[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value === "number") return String(value);
    if (typeof value !== "string") throw this.error(this.#key(key), "must be a string");
    return value;
  }

  /** One of the allowed strings. */
  choice<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const value = this.string(key, fallback);
    if (!allowed.includes(value as T)) {
      throw this.error(this.#key(key), `must be one of ${allowed.join(", ")} (got "${value}")`);
    }
    return value as T;
  }

  /** A whole number within [min, max]. */
  int(key: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.#values[key];
    if (value === undefined || value === null) return fallback;
    const number = typeof value === "string" && /^-?\d+$/.test(value.trim())
      ? Number(value)
      : value;
    if (typeof number !== "number" || !Number.isInteger(number) || number < min || number > max) {
      throw this.error(
        this.#key(key),
        `must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`,
      );
    }
    return number;
  }

  /** A duration in ms: seconds as a number, or a Go duration string. */
  duration(key: string, fallbackMs: number): number {
    const value = this.#values[key];
    if (value === undefined || value === null) return fallbackMs;
    const ms = parseDuration(value);
    if (ms === undefined) {
      throw this.error(
        this.#key(key),
        `must be seconds (like 3) or a duration (like "3s", "500ms", "1m30s") (got ${
          JSON.stringify(value)
        })`,
      );
    }
    return ms;
  }

  /** A list of durations in ms. */
  durations(key: string, fallbackMs: number[]): number[] {
    const value = this.#values[key];
    if (value === undefined || value === null) return fallbackMs;
    const list = Array.isArray(value) ? value : [value];
    return list.map((item, index) => {
      const ms = parseDuration(item);
      if (ms === undefined) {
        throw this.error(`${this.#key(key)}[${index}]`, "must be seconds or a duration");
      }
      return ms;
    });
  }

  /** A boolean. */
  bool(key: string, fallback: boolean): boolean {
    const value = this.#values[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "boolean") throw this.error(this.#key(key), "must be true or false");
    return value;
  }

  /** A list of strings. */
  strings(key: string, fallback: string[] = []): string[] {
    const value = this.#values[key];
    if (value === undefined || value === null) return fallback;
    if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
      throw this.error(this.#key(key), "must be a list of strings");
    }
    return value as string[];
  }
}

function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const distance = editDistance(key, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}
