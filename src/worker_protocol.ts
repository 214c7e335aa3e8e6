/**
 * The line protocol between the queue service and its worker processes.
 *
 * - Worker to service, on stdout: lines starting with {@link MARK} followed by
 *   JSON ({@link ChildMessage}); other stdout lines (a job's own `console.log`)
 *   are passed through untouched.
 * - Service to worker, on stdin: the line `drain` (finish the jobs in flight,
 *   then exit). End of stdin means the service is gone: the worker drains too.
 *
 * Works the same on every platform, so draining does not depend on signals
 * (Windows has no SIGTERM for child processes).
 *
 * @module
 */

/** Marks a protocol line on a worker's stdout. */
export const MARK = "\u001e@queue ";

/** Set in a worker process's environment by the queue service: the queue it serves. */
export const CHILD_ENV = "QUEUE_SERVICE_CHILD";

/** What a worker process tells the queue service. */
export type ChildMessage =
  | { ev: "ready"; pid: number }
  | { ev: "started"; job: string; queue: string; timeoutMs: number }
  | { ev: "finished"; job: string }
  | { ev: "exit"; reason: string; processed: number; failed: number };

/** Encodes one message as a protocol line (with its newline). */
export function encodeMessage(message: ChildMessage): string {
  return MARK + JSON.stringify(message) + "\n";
}

/** Decodes a stdout line: the message, or null for an ordinary output line. */
export function decodeMessage(line: string): ChildMessage | null {
  if (!line.startsWith(MARK)) return null;
  try {
    return JSON.parse(line.slice(MARK.length)) as ChildMessage;
  } catch {
    return null;
  }
}

/** Splits a byte stream into text lines. */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true });
    let index: number;
    while ((index = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, index);
      buffer = buffer.slice(index + 1);
    }
  }
  buffer += decoder.decode();
  if (buffer) yield buffer;
}
