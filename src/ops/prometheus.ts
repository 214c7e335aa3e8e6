/**
 * The Prometheus text exposition format (version 0.0.4) of a {@link Snapshot}:
 * what `/metrics` serves and `queue-status -metrics` prints.
 *
 * Job durations are a **summary** with the 0.5 and 0.95 quantiles, because
 * that is what the stores keep (percentiles over the last 512 attempts of each
 * queue); there are no buckets to build a histogram from. The summary has no
 * `_sum`/`_count` lines: the stores keep no running sum of durations, and the
 * processed/failed counters already count the jobs.
 *
 * @module
 */

import { collectSnapshot, type OpsSource, type Snapshot } from "./snapshot.ts";

/** The Content-Type of the text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;
interface Sample {
  labels: Labels;
  value: number;
}
interface Family {
  name: string;
  help: string;
  type: "gauge" | "counter" | "summary";
  samples: Sample[];
}

/** Escapes a label value: backslash, double quote and line feed. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function formatLabels(labels: Labels): string {
  const pairs = Object.entries(labels).map(([key, value]) => `${key}="${escapeLabel(value)}"`);
  return pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
}

function renderFamily(family: Family): string {
  const lines = [`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`];
  for (const sample of family.samples) {
    lines.push(`${family.name}${formatLabels(sample.labels)} ${formatValue(sample.value)}`);
  }
  return lines.join("\n");
}

function perQueue(
  snapshot: Snapshot,
  value: (queue: Snapshot["queues"][number]) => number,
): Sample[] {
  return snapshot.queues.map((queue) => ({
    labels: { queue: queue.stats.queue },
    value: value(queue),
  }));
}

function durationSamples(snapshot: Snapshot): Sample[] {
  const samples: Sample[] = [];
  for (const { metrics } of snapshot.queues) {
    const seconds = (ms: number | null): number => ms === null ? NaN : ms / 1000;
    samples.push({
      labels: { queue: metrics.queue, quantile: "0.5" },
      value: seconds(metrics.durationP50),
    });
    samples.push({
      labels: { queue: metrics.queue, quantile: "0.95" },
      value: seconds(metrics.durationP95),
    });
  }
  return samples;
}

/** The metric families of a snapshot, in output order. */
function families(snapshot: Snapshot): Family[] {
  const gauge = (name: string, help: string, samples: Sample[]): Family => ({
    name,
    help,
    type: "gauge",
    samples,
  });
  const counter = (name: string, help: string, samples: Sample[]): Family => ({
    name,
    help,
    type: "counter",
    samples,
  });
  return [
    gauge(
      "queue_jobs_ready",
      "Jobs available to workers now.",
      perQueue(snapshot, (q) => q.stats.ready),
    ),
    gauge(
      "queue_jobs_delayed",
      "Jobs waiting for their delay.",
      perQueue(snapshot, (q) => q.stats.delayed),
    ),
    gauge(
      "queue_jobs_reserved",
      "Jobs held by a worker.",
      perQueue(snapshot, (q) => q.stats.reserved),
    ),
    gauge(
      "queue_jobs_failed",
      "Jobs in the failed store.",
      perQueue(snapshot, (q) => q.stats.failed),
    ),
    gauge(
      "queue_paused",
      "1 when workers are told to skip the queue.",
      perQueue(snapshot, (q) => +q.stats.paused),
    ),
    gauge(
      "queue_oldest_ready_age_seconds",
      "How long the oldest ready job has waited (0 when none is ready).",
      perQueue(snapshot, (q) => q.oldestWaitMs / 1000),
    ),
    counter(
      "queue_jobs_processed_total",
      "Jobs finished successfully since the store began counting.",
      perQueue(snapshot, (q) => q.metrics.processedTotal),
    ),
    counter(
      "queue_jobs_failed_total",
      "Jobs moved to the failed store since the store began counting.",
      perQueue(snapshot, (q) => q.metrics.failedTotal),
    ),
    {
      name: "queue_job_duration_seconds",
      help: "Job run time quantiles over the last 512 attempts of the queue.",
      type: "summary",
      samples: durationSamples(snapshot),
    },
    gauge(
      "queue_workers_alive",
      "Live worker processes serving the queue.",
      perQueue(snapshot, (q) => q.workersAlive),
    ),
    gauge("queue_workers_alive_total", "Live worker processes on this store.", [
      { labels: {}, value: snapshot.workers.length },
    ]),
  ];
}

/**
 * Renders a snapshot in the Prometheus text exposition format.
 *
 * @example
 * ```ts
 * import { renderPrometheus } from "./prometheus.ts";
 * const text = renderPrometheus({ now: 0, driver: "memory", target: "memory", queues: [], workers: [], aliveMs: 15000 });
 * console.log(text.includes("queue_workers_alive_total 0")); // true
 * ```
 */
export function renderPrometheus(snapshot: Snapshot): string {
  return families(snapshot).map(renderFamily).join("\n") + "\n";
}

/** Reads a fresh snapshot and renders it: the body of `/metrics` and of `queue-status -metrics`. */
export async function prometheusText(
  source: OpsSource,
  options: { aliveMs?: number } = {},
): Promise<string> {
  return renderPrometheus(await collectSnapshot(source, options));
}
