/**
 * The dashboard's JSON API: read endpoints (`GET /api/overview`,
 * `GET /api/failed`) and actions (`POST /api/queues/:name/{pause,resume,clear}`,
 * `POST /api/failed/:id/{retry,forget}`, `POST /api/failed/retry-all`).
 * Authentication and the same-origin check happen before these run
 * (see `dashboard.ts`). Nothing here returns a password or a connection
 * string with one: only the driver's password-free `target` is shown, and
 * error texts and payloads pass through {@link redactSecrets}.
 *
 * @module
 */

import { assertQueueName, QueueError } from "../errors.ts";
import { collectSnapshot, type OpsSource, redactSecrets } from "./snapshot.ts";

/** Largest payload text shown per failed job. */
const PAYLOAD_PREVIEW = 4000;

/** A JSON response with the dashboard's headers. */
export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

/** The body of `GET /api/overview`: counts, figures and workers, ready to draw. */
export async function overview(
  source: OpsSource,
  aliveMs: number,
  readOnly: boolean,
): Promise<unknown> {
  const snapshot = await collectSnapshot(source, { aliveMs });
  return {
    driver: snapshot.driver,
    target: snapshot.target,
    now: snapshot.now,
    aliveMs,
    readOnly,
    queues: snapshot.queues.map((queue) => ({
      name: queue.stats.queue,
      ready: queue.stats.ready,
      delayed: queue.stats.delayed,
      reserved: queue.stats.reserved,
      failed: queue.stats.failed,
      paused: queue.stats.paused,
      configured: queue.configured,
      processes: queue.processes,
      workersAlive: queue.workersAlive,
      oldestWaitMs: queue.oldestWaitMs,
      processedTotal: queue.metrics.processedTotal,
      failedTotal: queue.metrics.failedTotal,
      durationP50: queue.metrics.durationP50,
      durationP95: queue.metrics.durationP95,
      minutes: {
        start: queue.metrics.minutes[0]?.minute ?? null,
        processed: queue.metrics.minutes.map((minute) => minute.processed),
        failed: queue.metrics.minutes.map((minute) => minute.failed),
      },
    })),
    workers: snapshot.workers,
  };
}

/** The body of `GET /api/failed?queue=&limit=`: newest first, with error, stack and payload. */
export async function failedPage(source: OpsSource, params: URLSearchParams): Promise<unknown> {
  const queue = params.get("queue") || undefined;
  if (queue !== undefined) assertQueueName(queue);
  const limit = Math.min(200, Math.max(1, Number(params.get("limit")) || 50));
  const [jobs, all] = await Promise.all([
    source.failedJobs({ queue, limit }),
    source.failedJobs({ queue }),
  ]);
  return {
    total: all.length,
    jobs: jobs.map((job) => ({
      id: job.id,
      queue: job.queue,
      error: redactSecrets(job.error),
      stack: redactSecrets(job.stack),
      attempts: job.attempts,
      failedAt: job.failedAt,
      payload: redactSecrets(job.payload.slice(0, PAYLOAD_PREVIEW)),
    })),
  };
}

/** Runs the action a POST path names; null when the path names none. */
export async function runAction(source: OpsSource, path: string): Promise<Response | null> {
  const queueAction = path.match(/^\/api\/queues\/([^/]+)\/(pause|resume|clear)$/);
  if (queueAction) {
    const queue = assertQueueName(decodeURIComponent(queueAction[1]));
    const action = queueAction[2];
    if (action === "pause") await source.pause(queue);
    else if (action === "resume") await source.resume(queue);
    else return json({ ok: true, queue, cleared: await source.clear(queue) });
    return json({ ok: true, queue, paused: action === "pause" });
  }
  if (path === "/api/failed/retry-all") {
    return json({ ok: true, retried: await source.retryFailed("all") });
  }
  const failedAction = path.match(/^\/api\/failed\/([^/]+)\/(retry|forget)$/);
  if (failedAction) {
    const id = decodeURIComponent(failedAction[1]);
    const result = failedAction[2] === "retry"
      ? await source.retryFailed(id)
      : await source.forgetFailed(id);
    const found = typeof result === "number" ? result > 0 : result !== false;
    return found ? json({ ok: true, id }) : json({ error: `No failed job has the id ${id}.` }, 404);
  }
  return null;
}

/** Turns an error into a JSON response: 400 for the caller's mistakes, 500 for the store's. */
export function errorResponse(error: unknown): Response {
  if (error instanceof QueueError && error.code === "QUEUE_NAME_INVALID") {
    return json({ error: error.message }, 400);
  }
  return json({ error: redactSecrets(`The queue store failed: ${(error as Error).message}`) }, 500);
}
