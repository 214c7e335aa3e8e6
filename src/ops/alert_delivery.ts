/**
 * Delivering an alert: a JSON POST to a webhook (with a timeout and retries)
 * and/or a command run from an argument vector with the alert as JSON on its
 * stdin. No shell is ever involved.
 *
 * @module
 */

/** The JSON document sent for each state change of a rule. */
export interface AlertNotification {
  /** "firing" when the condition started to hold, "resolved" when it stopped. */
  status: "firing" | "resolved";
  /** The rule's name. */
  rule: string;
  /** The rule's kind: backlog | oldest_wait | failed | no_workers. */
  kind: string;
  /** The queue. */
  queue: string;
  /** "warning" or "critical". */
  severity: "warning" | "critical";
  /** The observed value (jobs, ms for oldest_wait, live workers for no_workers). */
  value: number;
  /** The rule's threshold. */
  threshold: number;
  /** One human sentence. */
  message: string;
  /** When the change was seen (ISO 8601). */
  at: string;
  /** When the rule started firing (ISO 8601); equal to `at` for "firing". */
  since: string;
}

/** How to deliver. */
export interface DeliveryOptions {
  /** Milliseconds one webhook request or command run may take (default 5000). */
  timeoutMs?: number;
  /** Webhook attempts after the first failure (default 2). */
  retries?: number;
  /** Milliseconds before the first retry; doubles each time (default 500). */
  retryDelayMs?: number;
  /** Extra request headers for the webhook. */
  headers?: Record<string, string>;
}

/** Thrown when a notification could not be delivered; the message says where and why. */
export class DeliveryError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "DeliveryError";
  }
}

/** POSTs the notification as JSON; retries on network errors and non-2xx statuses. */
export async function postWebhook(
  url: string,
  notification: AlertNotification,
  options: DeliveryOptions = {},
): Promise<void> {
  const retries = options.retries ?? 2;
  let delay = options.retryDelayMs ?? 500;
  let last = "";
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay *= 2;
    }
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...options.headers },
        body: JSON.stringify(notification),
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
      await response.body?.cancel();
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
  }
  throw new DeliveryError(
    `The alert webhook ${safeUrl(url)} failed ${retries + 1} times: ${last}.`,
  );
}

/** Runs `argv` with the notification as JSON on stdin; a non-zero exit or a timeout is an error. */
export async function runAlertCommand(
  argv: readonly string[],
  notification: AlertNotification,
  options: DeliveryOptions = {},
): Promise<void> {
  if (argv.length === 0) {
    throw new DeliveryError("alerts.command is empty; give an argument vector.");
  }
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, options.timeoutMs ?? 5000);
  try {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify(notification) + "\n")).catch(
      () => {},
    );
    await writer.close().catch(() => {});
    const output = await child.output();
    if (!output.success) {
      const stderr = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-1)[0] ?? "";
      throw new DeliveryError(
        `The alert command ${argv[0]} exited with ${output.signal ?? output.code}${
          stderr ? `: ${stderr}` : ""
        }.`,
      );
    }
  } finally {
    clearTimeout(timer);
  }
}

/** The URL without user information or query string, for log lines. */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}
