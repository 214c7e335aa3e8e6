/**
 * Alerting: the {@link AlertMonitor} that the queue service runs at
 * `alerts.interval`, and the one-shot {@link checkAlerts} behind
 * `queue-status -check` (Nagios-style exit codes).
 *
 * Each rule and queue pair notifies once when it starts firing and once when
 * it resolves; while it stays firing, nothing is repeated.
 *
 * @module
 */

import type { AlertRule, AlertsConfig } from "../config_types.ts";
import {
  type AlertNotification,
  type DeliveryOptions,
  postWebhook,
  runAlertCommand,
  safeUrl,
} from "./alert_delivery.ts";
import { evaluateRules, type Finding, findingKey } from "./alert_rules.ts";
import { collectSnapshot, type OpsSource } from "./snapshot.ts";

export type { AlertNotification, DeliveryOptions } from "./alert_delivery.ts";
export { evaluateRules, type Finding } from "./alert_rules.ts";

/** What the monitor logs through; `Logger` from src/log.ts fits. */
export interface AlertLogger {
  /** A firing or resolved alert. */
  warn(
    message: string,
    fields?: Record<string, string | number | boolean | null | undefined>,
  ): void;
  /** A resolved alert or a delivery. */
  info(
    message: string,
    fields?: Record<string, string | number | boolean | null | undefined>,
  ): void;
  /** A delivery that failed, or a store error during evaluation. */
  error(
    message: string,
    fields?: Record<string, string | number | boolean | null | undefined>,
  ): void;
}

/** Options of an {@link AlertMonitor}. */
export interface AlertMonitorOptions extends DeliveryOptions {
  /** Where lines go (default: nothing). */
  logger?: AlertLogger;
  /** Alive window for workers in ms (default 15000). */
  aliveMs?: number;
  /** Called with each notification after delivery was attempted (tests, embedding). */
  onNotify?: (notification: AlertNotification) => void;
}

/** Evaluates the rules at an interval and notifies on each change of state. */
export class AlertMonitor {
  #source: OpsSource;
  #config: AlertsConfig;
  #options: AlertMonitorOptions;
  #firing = new Map<string, string>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #tick: Promise<AlertNotification[]> | undefined;

  /** Creates a monitor; call `start()` to run it. */
  constructor(source: OpsSource, config: AlertsConfig, options: AlertMonitorOptions = {}) {
    this.#source = source;
    this.#config = config;
    this.#options = options;
  }

  /** Evaluates now and then every `intervalMs`. Calling it twice does nothing more. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.evaluate().catch(() => {});
    this.#timer = setInterval(
      () => this.evaluate().catch(() => {}),
      Math.max(100, this.#config.intervalMs),
    );
  }

  /** Stops the interval and waits for an evaluation in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#tick?.catch(() => {});
  }

  /** Rule/queue pairs firing now, as "rule\u0000queue" keys. */
  get firing(): string[] {
    return [...this.#firing.keys()];
  }

  /** One evaluation: returns the notifications it sent (an evaluation in progress is joined). */
  evaluate(): Promise<AlertNotification[]> {
    this.#tick ??= this.#evaluate().finally(() => this.#tick = undefined);
    return this.#tick;
  }

  async #evaluate(): Promise<AlertNotification[]> {
    let findings: Finding[];
    try {
      const snapshot = await collectSnapshot(this.#source, { aliveMs: this.#options.aliveMs });
      findings = evaluateRules(this.#config.rules, snapshot);
    } catch (error) {
      this.#options.logger?.error(
        `Alert rules could not be evaluated: ${(error as Error).message}`,
      );
      return [];
    }
    const at = new Date().toISOString();
    const changes: AlertNotification[] = [];
    for (const finding of findings) {
      const key = findingKey(finding);
      const since = this.#firing.get(key);
      if (finding.firing && since === undefined) {
        this.#firing.set(key, at);
        changes.push(notificationOf(finding, "firing", at, at));
      } else if (!finding.firing && since !== undefined) {
        this.#firing.delete(key);
        changes.push(notificationOf(finding, "resolved", at, since));
      }
    }
    for (const notification of changes) await this.#deliver(notification);
    return changes;
  }

  async #deliver(notification: AlertNotification): Promise<void> {
    const log = this.#options.logger;
    const fields = {
      rule: notification.rule,
      queue: notification.queue,
      severity: notification.severity,
    };
    if (notification.status === "firing") {
      log?.warn(`Alert firing: ${notification.message}`, fields);
    } else log?.info(`Alert resolved: ${notification.message}`, fields);
    const { webhook, command } = this.#config;
    const tasks: Promise<void>[] = [];
    if (webhook) tasks.push(postWebhook(webhook, notification, this.#options));
    if (command && command.length > 0) {
      tasks.push(runAlertCommand(command, notification, this.#options));
    }
    const results = await Promise.allSettled(tasks);
    for (const result of results) {
      if (result.status === "rejected") log?.error((result.reason as Error).message, fields);
    }
    if (webhook && results[0]?.status === "fulfilled") {
      log?.info(`Alert sent to ${safeUrl(webhook)}`, fields);
    }
    this.#options.onNotify?.(notification);
  }
}

function notificationOf(
  finding: Finding,
  status: "firing" | "resolved",
  at: string,
  since: string,
): AlertNotification {
  return {
    status,
    rule: finding.rule.name,
    kind: finding.rule.kind,
    queue: finding.queue,
    severity: finding.rule.severity,
    value: finding.value,
    threshold: finding.rule.threshold,
    message: finding.message,
    at,
    since,
  };
}

/** The outcome of {@link checkAlerts}. */
export interface CheckResult {
  /** 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the store could not be read). */
  code: 0 | 1 | 2 | 3;
  /** One line per firing rule and queue, or one summary line when none fires. */
  lines: string[];
  /** Every finding, firing or not. */
  findings: Finding[];
}

/**
 * Evaluates the rules once, Nagios-style: exit code 2 when a critical rule
 * fires, 1 when only warnings fire, 0 when none does, 3 when the store cannot
 * be read. Never throws for a store error.
 *
 * @example
 * ```ts ignore
 * const result = await checkAlerts(manager);
 * for (const line of result.lines) console.log(line);
 * Deno.exit(result.code);
 * ```
 */
export async function checkAlerts(
  source: OpsSource,
  rules: readonly AlertRule[] = source.config.alerts?.rules ?? [],
  options: { aliveMs?: number } = {},
): Promise<CheckResult> {
  let findings: Finding[];
  try {
    findings = evaluateRules(rules, await collectSnapshot(source, options));
  } catch (error) {
    return {
      code: 3,
      lines: [`UNKNOWN: the queue store could not be read: ${(error as Error).message}`],
      findings: [],
    };
  }
  const firing = findings.filter((finding) => finding.firing);
  const critical = firing.some((finding) => finding.rule.severity === "critical");
  const code = critical ? 2 : firing.length > 0 ? 1 : 0;
  if (firing.length === 0) {
    const what = rules.length === 0
      ? "no alert rules configured (alerts.rules)"
      : `${rules.length} rules, none firing`;
    return { code, lines: [`OK: ${what}`], findings };
  }
  const lines = firing.map((finding) =>
    `${finding.rule.severity.toUpperCase()} ${finding.rule.name}: ${finding.message}`
  );
  return { code, lines, findings };
}
