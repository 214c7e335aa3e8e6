/**
 * Alert rules evaluated against a {@link Snapshot}: a pure function from
 * rules and figures to findings, one per rule and queue.
 *
 * - `backlog`: ready + delayed jobs (waiting to be taken) > threshold.
 * - `oldest_wait`: the oldest ready job has waited > threshold ms.
 * - `failed`: jobs moved to the failed store within the last `windowMs`
 *   (at most the 60 minutes the store keeps) > threshold.
 * - `no_workers`: a queue whose config has `processes > 0` has fewer than
 *   max(1, threshold) live workers.
 *
 * @module
 */

import type { AlertRule } from "../config_types.ts";
import type { QueueSnapshot, Snapshot } from "./snapshot.ts";

/** The result of one rule for one queue. */
export interface Finding {
  /** The rule. */
  rule: AlertRule;
  /** The queue it was evaluated for. */
  queue: string;
  /** Whether the condition holds. */
  firing: boolean;
  /** The observed value (jobs, or ms for `oldest_wait`, or live workers). */
  value: number;
  /** One human sentence describing the observation. */
  message: string;
}

/** A stable key of a finding: rule name and queue. */
export function findingKey(finding: { rule: AlertRule; queue: string }): string {
  return `${finding.rule.name}\u0000${finding.queue}`;
}

function failedWithin(queue: QueueSnapshot, now: number, windowMs: number): number {
  const since = now - windowMs;
  return queue.metrics.minutes
    .filter((minute) => minute.minute + 60_000 > since)
    .reduce((sum, minute) => sum + minute.failed, 0);
}

function seconds(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)}s` : `${(ms / 1000).toFixed(1)}s`;
}

function evaluateOne(rule: AlertRule, queue: QueueSnapshot, now: number): Finding {
  const name = queue.stats.queue;
  const base = { rule, queue: name };
  switch (rule.kind) {
    case "backlog": {
      const value = queue.stats.ready + queue.stats.delayed;
      const message = `queue ${name} has ${value} waiting jobs (threshold ${rule.threshold})`;
      return { ...base, value, firing: value > rule.threshold, message };
    }
    case "oldest_wait": {
      const value = queue.oldestWaitMs;
      const message = `the oldest ready job of queue ${name} has waited ${
        seconds(value)
      } (threshold ${seconds(rule.threshold)})`;
      return { ...base, value, firing: value > rule.threshold, message };
    }
    case "failed": {
      const windowMs = Math.min(rule.windowMs, 3_600_000);
      const value = failedWithin(queue, now, windowMs);
      const message = `queue ${name} had ${value} failed jobs in the last ${
        Math.round(windowMs / 60_000)
      } min (threshold ${rule.threshold})`;
      return { ...base, value, firing: value > rule.threshold, message };
    }
    case "no_workers": {
      const value = queue.workersAlive;
      const needed = Math.max(1, rule.threshold);
      const message =
        `queue ${name} has ${value} live workers (needs ${needed}, configured processes ${queue.processes})`;
      return { ...base, value, firing: queue.processes > 0 && value < needed, message };
    }
  }
}

/** The queues a rule watches: its own, or every configured queue (and every known one) for "*". */
function watched(rule: AlertRule, snapshot: Snapshot): QueueSnapshot[] {
  if (rule.queue !== "*") {
    const found = snapshot.queues.find((queue) => queue.stats.queue === rule.queue);
    return [found ?? emptyQueue(rule.queue)];
  }
  return rule.kind === "no_workers"
    ? snapshot.queues.filter((queue) => queue.configured)
    : snapshot.queues;
}

function emptyQueue(name: string): QueueSnapshot {
  return {
    stats: {
      queue: name,
      ready: 0,
      delayed: 0,
      reserved: 0,
      failed: 0,
      paused: false,
      oldestReadyAt: null,
    },
    metrics: {
      queue: name,
      minutes: [],
      processedTotal: 0,
      failedTotal: 0,
      durationP50: null,
      durationP95: null,
    },
    configured: false,
    processes: 0,
    workersAlive: 0,
    oldestWaitMs: 0,
  };
}

/** Evaluates every rule against every queue it watches. */
export function evaluateRules(rules: readonly AlertRule[], snapshot: Snapshot): Finding[] {
  return rules.flatMap((rule) =>
    watched(rule, snapshot).map((queue) => evaluateOne(rule, queue, snapshot.now))
  );
}
