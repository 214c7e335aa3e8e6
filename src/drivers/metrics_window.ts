/**
 * Arithmetic shared by the drivers' monitoring figures: minute buckets over the
 * last hour and percentiles over a bounded sample of durations.
 *
 * @module
 */

/** Minutes kept in the rolling window. */
export const WINDOW_MINUTES = 60;
/** Durations kept per queue for percentiles. */
export const DURATION_SAMPLES = 512;

/** The start of the minute that contains `time` (epoch ms). */
export function minuteOf(time: number): number {
  return Math.floor(time / 60_000) * 60_000;
}

/** The oldest minute still inside the window that ends at `now`. */
export function windowStart(now: number): number {
  return minuteOf(now) - (WINDOW_MINUTES - 1) * 60_000;
}

/**
 * Lays sparse per-minute counts onto the full window, oldest first, filling
 * minutes without jobs with zeros.
 */
export function fillMinutes(
  now: number,
  counts: ReadonlyMap<number, { processed: number; failed: number }>,
): { minute: number; processed: number; failed: number }[] {
  const first = windowStart(now);
  const minutes = [];
  for (let i = 0; i < WINDOW_MINUTES; i++) {
    const minute = first + i * 60_000;
    const count = counts.get(minute);
    minutes.push({ minute, processed: count?.processed ?? 0, failed: count?.failed ?? 0 });
  }
  return minutes;
}

/** The p-th percentile (0-100) of the values by nearest rank, or null when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/** A random reservation token. */
export function newToken(): string {
  return crypto.randomUUID();
}
