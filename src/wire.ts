/**
 * The wire format: the versioned JSON that every store holds for a job, so
 * that a program in any language can enqueue work by writing it. The README's
 * "Wire format" section documents the same fields.
 *
 * @module
 */

import { PayloadError } from "./errors.ts";

/** The version of the wire format this release writes and reads. */
export const WIRE_VERSION = 1;

/** Payloads larger than this (in bytes) are refused unless configured otherwise. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/** One job as stored: either a typed job (`type` + `data`) or a raw one (`raw`). */
export interface WirePayload {
  /** Wire format version; always 1 for now. */
  v: 1;
  /** Unique job id (a UUID when this library writes it). */
  id: string;
  /** The queue the job was pushed to. */
  queue: string;
  /** Registered job type name, for typed jobs. */
  type?: string;
  /** The job's own fields, for typed jobs. */
  data?: Record<string, unknown>;
  /** The raw payload text, for jobs pushed with `pushRaw`. */
  raw?: string;
  /** Attempts allowed before the job fails for good; null: the queue's `tries`. */
  maxAttempts: number | null;
  /** Milliseconds a single attempt may run; null: the queue's `timeout`. */
  timeoutMs: number | null;
  /** Delay before a retry when no backoff applies; null: the queue's setting. */
  retryAfterMs: number | null;
  /** Delay before each retry, per attempt (the last repeats); null: the queue's `backoff`. */
  backoffMs: number[] | null;
  /** Creation time, milliseconds since the Unix epoch. */
  createdAt: number;
}

/** Serialises a payload to its stored JSON text, refusing it when too large. */
export function encodePayload(
  payload: WirePayload,
  maxBytes = DEFAULT_MAX_PAYLOAD_BYTES,
): string {
  const text = JSON.stringify(payload);
  // Cheap upper bound first: UTF-8 never needs more than 3 bytes per UTF-16 unit.
  if (text.length * 3 > maxBytes) {
    const bytes = new TextEncoder().encode(text).length;
    if (bytes > maxBytes) {
      throw new PayloadError(
        `The payload of job ${payload.id} is ${bytes} bytes, over the limit of ${maxBytes} bytes (queue.max_payload).`,
      );
    }
  }
  return text;
}

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

function rejectPollutingKeys(key: string, value: unknown): unknown {
  if (FORBIDDEN_KEYS.has(key)) {
    throw new PayloadError(`The payload contains the forbidden key "${key}".`);
  }
  return value;
}

function parseJson(text: string): unknown {
  try {
    // A reviver is slow, so it only runs when a forbidden key may be present.
    const suspicious = text.includes("__proto__") || text.includes('"constructor"') ||
      text.includes('"prototype"');
    return suspicious ? JSON.parse(text, rejectPollutingKeys) : JSON.parse(text);
  } catch (error) {
    if (error instanceof PayloadError) throw error;
    throw new PayloadError(`The payload is not valid JSON: ${(error as Error).message}`);
  }
}

function optionalNumber(value: unknown, field: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new PayloadError(`The payload field "${field}" must be a non-negative number or null.`);
  }
  return value;
}

function optionalNumberList(value: unknown, field: string): number[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) {
    throw new PayloadError(`The payload field "${field}" must be an array of numbers or null.`);
  }
  return value.map((item, index) => optionalNumber(item, `${field}[${index}]`) ?? 0);
}

function requireString(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new PayloadError(`The payload field "${field}" must be a non-empty string.`);
  }
  return value;
}

/**
 * Parses and validates stored JSON text. Accepts `Uint8Array` (refusing bytes
 * that are not UTF-8) or a string. Missing `id`/`queue` fall back to the values
 * the store keeps beside the payload. Throws {@link PayloadError} with the reason.
 */
export function decodePayload(
  input: string | Uint8Array,
  fallback: { id: string; queue: string },
  maxBytes = DEFAULT_MAX_PAYLOAD_BYTES,
): WirePayload {
  let text: string;
  if (typeof input === "string") {
    text = input;
  } else {
    if (input.length > maxBytes) throw tooLarge(input.length, maxBytes);
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(input);
    } catch {
      throw new PayloadError("The payload is not valid UTF-8 text.");
    }
  }
  if (text.length > maxBytes) throw tooLarge(text.length, maxBytes);
  const value = parseJson(text);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new PayloadError("The payload must be a JSON object.");
  }
  const record = value as Record<string, unknown>;
  if (record.v !== undefined && record.v !== WIRE_VERSION) {
    throw new PayloadError(
      `The payload has wire version ${
        String(record.v)
      }; this worker reads version ${WIRE_VERSION}.`,
    );
  }
  const hasType = record.type !== undefined && record.type !== null;
  const hasRaw = record.raw !== undefined && record.raw !== null;
  if (hasType === hasRaw) {
    throw new PayloadError(
      'The payload must have exactly one of "type" (a job class) or "raw" (raw text).',
    );
  }
  if (hasRaw && typeof record.raw !== "string") {
    throw new PayloadError('The payload field "raw" must be a string.');
  }
  const data = record.data ?? {};
  if (hasType && (typeof data !== "object" || data === null || Array.isArray(data))) {
    throw new PayloadError('The payload field "data" must be a JSON object.');
  }
  const maxAttempts = optionalNumber(record.maxAttempts, "maxAttempts");
  return {
    v: WIRE_VERSION,
    id: record.id === undefined ? fallback.id : requireString(record.id, "id"),
    queue: record.queue === undefined ? fallback.queue : requireString(record.queue, "queue"),
    ...(hasType
      ? { type: requireString(record.type, "type"), data: data as Record<string, unknown> }
      : { raw: record.raw as string }),
    maxAttempts: maxAttempts === null ? null : Math.floor(maxAttempts),
    timeoutMs: optionalNumber(record.timeoutMs, "timeoutMs"),
    retryAfterMs: optionalNumber(record.retryAfterMs, "retryAfterMs"),
    backoffMs: optionalNumberList(record.backoffMs, "backoffMs"),
    createdAt: optionalNumber(record.createdAt, "createdAt") ?? Date.now(),
  };
}

function tooLarge(size: number, maxBytes: number): PayloadError {
  return new PayloadError(
    `The payload is ${size} bytes, over the limit of ${maxBytes} bytes (queue.max_payload).`,
  );
}
