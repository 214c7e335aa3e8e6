/**
 * Command and HTTP handlers for raw queues (`handlers:` in the config), so the
 * prebuilt `worker` runs real work in any language without a rebuild.
 *
 * - `command: [argv...]`: the payload arrives on stdin; exit code 0 is success;
 *   the end of stderr is the error otherwise. The job's timeout kills it.
 * - `url: https://...`: the payload is POSTed as the body; a 2xx status is
 *   success. The job's timeout aborts the request.
 *
 * @module
 */

import type { HandlerConfig } from "./config_types.ts";
import type { JobContext, RawHandler, RawJob } from "./job.ts";

const TAIL_BYTES = 2000;

/** A raw handler that always returns a promise (what the command and URL handlers are). */
export type AsyncRawHandler = (job: RawJob, context: JobContext) => Promise<void>;

/** The last `max` characters of `text`, trimmed. */
function tail(text: string, max = TAIL_BYTES): string {
  const trimmed = text.trim();
  return trimmed.length > max ? "…" + trimmed.slice(-max) : trimmed;
}

/** A URL without its user name and password, for messages. */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    return parsed.toString();
  } catch {
    return "(invalid URL)";
  }
}

function jobEnv(job: RawJob, context: JobContext): Record<string, string> {
  return {
    QUEUE_JOB_ID: context.jobId,
    QUEUE_NAME: context.queue,
    QUEUE_ATTEMPT: String(context.attempt),
    QUEUE_MAX_ATTEMPTS: String(job.getMaxAttempts()),
  };
}

/** A raw handler that runs `argv` with the payload on stdin. */
export function commandHandler(argv: readonly string[]): AsyncRawHandler {
  if (argv.length === 0) throw new Error("A command handler needs a non-empty argument vector.");
  return async (job: RawJob, context: JobContext): Promise<void> => {
    const child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: jobEnv(job, context),
      signal: context.signal,
    }).spawn();
    const writer = child.stdin.getWriter();
    try {
      await writer.write(new TextEncoder().encode(job.body));
      await writer.close();
    } catch {
      // The command may exit without reading its input; its exit code decides.
    }
    const output = await child.output();
    if (context.signal.aborted) throw context.signal.reason ?? new Error("The job was aborted.");
    if (output.success) return;
    const stderr = tail(new TextDecoder().decode(output.stderr));
    const how = output.signal
      ? `was killed by ${output.signal}`
      : `exited with code ${output.code}`;
    throw new Error(`Command ${argv[0]} ${how}${stderr ? `: ${stderr}` : "."}`);
  };
}

/** A raw handler that POSTs the payload to `url`; a 2xx status is success. */
export function urlHandler(url: string, headers: Record<string, string> = {}): AsyncRawHandler {
  const shown = safeUrl(url);
  return async (job: RawJob, context: JobContext): Promise<void> => {
    const response = await fetch(url, {
      method: "POST",
      body: job.body,
      headers: {
        "content-type": "application/json",
        "x-queue-job-id": context.jobId,
        "x-queue-name": context.queue,
        "x-queue-attempt": String(context.attempt),
        ...headers,
      },
      signal: context.signal,
    });
    const text = await response.text().catch(() => "");
    if (response.ok) return;
    const body = tail(text, 500);
    throw new Error(
      `POST ${shown} answered ${response.status} ${response.statusText}${body ? `: ${body}` : "."}`,
    );
  };
}

/** The raw handler a `handlers:` entry describes. */
export function handlerFromConfig(queue: string, config: HandlerConfig): RawHandler {
  if (config.command && config.command.length > 0) return commandHandler(config.command);
  if (config.url) return urlHandler(config.url, config.headers);
  throw new Error(`The handler of queue "${queue}" needs a command or a url.`);
}

/** Raw handlers for every `handlers:` entry, by queue name. */
export function handlersFromConfig(
  handlers: Record<string, HandlerConfig>,
): Map<string, RawHandler> {
  const result = new Map<string, RawHandler>();
  for (const [queue, config] of Object.entries(handlers)) {
    result.set(queue, handlerFromConfig(queue, config));
  }
  return result;
}
