/**
 * Conversions between the Redis driver's script arguments and replies and
 * the Driver contract's records. Pure functions, no I/O.
 *
 * @module
 */

import type { FailedJob, NewJob, QueueClaim, QueueMetrics, ReservedJob } from "./driver.ts";
import { PayloadError } from "../errors.ts";
import { fillMinutes, minuteOf, percentile } from "./metrics_window.ts";

/** The push script's ARGV: delayMs, id, payload per job. Refuses ids the ready list cannot frame. */
export function pushArgs(jobs: readonly NewJob[]): (string | number)[] {
  const args: (string | number)[] = [];
  for (const job of jobs) {
    if (!job.id || job.id.includes("|")) {
      throw new PayloadError(
        `Job id ${
          JSON.stringify(job.id)
        } is invalid for Redis: it must be non-empty and without '|'.`,
      );
    }
    args.push(Math.max(0, Math.round(job.delayMs ?? 0)), job.id, job.payload);
  }
  return args;
}

/** The jobs of a reserve script reply: {now, nextDue, paused, (id, payload, attempts, token)...}. */
export function parseReserved(
  reply: readonly (string | number)[],
  claim: QueueClaim,
): ReservedJob[] {
  const now = Number(reply[0]);
  const jobs: ReservedJob[] = [];
  for (let i = 3; i < reply.length; i += 4) {
    jobs.push({
      id: String(reply[i]),
      queue: claim.name,
      payload: String(reply[i + 1]),
      attempts: Number(reply[i + 2]),
      reservedAt: now,
      reservedUntil: now + claim.retryAfterMs,
      token: String(reply[i + 3]),
    });
  }
  return jobs;
}

/** Failed jobs from a failed_index range (id, score pairs) and the matching records. */
export function parseFailed(
  queue: string,
  index: readonly string[],
  records: readonly (string | null)[],
): { score: number; job: FailedJob }[] {
  const out: { score: number; job: FailedJob }[] = [];
  records.forEach((text, i) => {
    if (text === null) return;
    const record = JSON.parse(text);
    out.push({
      score: Number(index[i * 2 + 1]),
      job: {
        id: index[i * 2],
        queue,
        payload: record.payload,
        error: record.error,
        stack: record.stack ?? "",
        attempts: Number(record.attempts),
        failedAt: Number(record.failedAt),
      },
    });
  });
  return out;
}

/** Metrics from the metrics hash (`total:p`, `<minute>:f`, ...) and the duration samples. */
export function parseMetrics(
  queue: string,
  now: number,
  fields: Record<string, string>,
  samples: readonly string[],
): QueueMetrics {
  const counts = new Map<number, { processed: number; failed: number }>();
  for (const [field, value] of Object.entries(fields)) {
    const [minute, kind] = field.split(":");
    if (minute === "total") continue;
    const at = minuteOf(Number(minute));
    const bucket = counts.get(at) ?? { processed: 0, failed: 0 };
    bucket[kind === "p" ? "processed" : "failed"] += Number(value);
    counts.set(at, bucket);
  }
  const durations = samples.map(Number);
  return {
    queue,
    minutes: fillMinutes(now, counts),
    processedTotal: Number(fields["total:p"] ?? 0),
    failedTotal: Number(fields["total:f"] ?? 0),
    durationP50: percentile(durations, 50),
    durationP95: percentile(durations, 95),
  };
}
