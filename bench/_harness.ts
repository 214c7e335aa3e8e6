/**
 * Shared helpers for the benchmarks: child processes that report one JSON
 * result, percentiles, and the result table with a ratio against a peer or a
 * ceiling measured in the same run.
 *
 * A bench module (bench/redis.ts, bench/sql.ts) exports
 * `run(options: BenchOptions): Promise<BenchRow[]>`; bench/main.ts runs them in
 * turn. A child script (producer, worker) reads its arguments with
 * {@link childArgs} and ends with {@link report}.
 *
 * @module
 */

/** Flags every bench module understands. */
export interface BenchOptions {
  /** Jobs per measurement (default 20,000). */
  n: number;
  /** Bench modules to run ("redis", "sql", "ops"); empty: all. */
  only: string[];
}

/** One line of a result table. */
export interface BenchRow {
  /** What was measured, e.g. "drain c=16". */
  metric: string;
  /** Who was measured: "ours", "bullmq", "ioredis ceiling", ... */
  subject: string;
  /** The figure. */
  value: number;
  /** "jobs/s", "ms" or "bytes". */
  unit: "jobs/s" | "ms" | "bytes";
  /** The subject(s) this row is compared with (same metric), for the ratio column. */
  versus?: string | string[];
  /** The goal from DESIGN.md, shown beside the figure. */
  goal?: string;
}

/** The marker that precedes the JSON result line on a child's stdout. */
export const RESULT_MARKER = "@@bench-result ";

/** Parses `--n=20000` and `--only=redis,sql` (also `--n 20000`). */
export function parseBenchFlags(args: readonly string[]): BenchOptions {
  const options: BenchOptions = { n: 20_000, only: [] };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].replace(/^--?/, "").split("=", 2);
    const value = inline ?? args[++i];
    if (flag === "n") {
      const n = Number(value);
      if (!Number.isInteger(n) || n <= 0) {
        throw new Error(`--n must be a positive integer, not ${value}.`);
      }
      options.n = n;
    } else if (flag === "only") {
      options.only = String(value).split(",").map((s) => s.trim()).filter(Boolean);
    } else {
      throw new Error(`Unknown flag ${args[i]}; use --n=NUMBER and --only=redis,sql.`);
    }
  }
  return options;
}

/** A running child process that will report one JSON result. */
export interface Child<T> {
  /** The child's result, read from its stdout; rejects when it exits non-zero. */
  result: Promise<T>;
  /** Process id. */
  pid: number;
  /** Sends a signal (default SIGTERM); ignores a child that already exited. */
  kill(signal?: Deno.Signal): void;
  /** Resolves once the child has printed `line` (a readiness line) on stdout. */
  ready(line?: string): Promise<void>;
}

/**
 * Starts `deno run -A <script> <json-args>`. The child prints lines on stdout;
 * the one that starts with {@link RESULT_MARKER} is its result. Other lines
 * (e.g. "ready") can be awaited with `ready()`. stderr is passed through.
 */
export function spawnChild<T>(script: string | URL, args: unknown): Child<T> {
  const path = script instanceof URL ? script.pathname : script;
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path, JSON.stringify(args)],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const seen: string[] = [];
  const waiters: { line: string; resolve: () => void }[] = [];
  let result: T | undefined;
  const reading = (async () => {
    const lines = process.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter());
    for await (const line of lines) {
      if (line.startsWith(RESULT_MARKER)) result = JSON.parse(line.slice(RESULT_MARKER.length));
      seen.push(line);
      for (const waiter of waiters.filter((w) => w.line === line)) waiter.resolve();
    }
  })();
  const finished = (async () => {
    const status = await process.status;
    await reading;
    if (!status.success && result === undefined) {
      throw new Error(
        `${path} exited with code ${status.code}${status.signal ? ` (${status.signal})` : ""}.`,
      );
    }
    if (result === undefined) throw new Error(`${path} exited without reporting a result.`);
    return result;
  })();
  return {
    result: finished,
    pid: process.pid,
    kill(signal: Deno.Signal = "SIGTERM") {
      try {
        process.kill(signal);
      } catch { /* already gone */ }
    },
    ready(line = "ready") {
      if (seen.includes(line)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        waiters.push({ line, resolve });
        finished.then(
          () => reject(new Error(`${path} finished before printing "${line}".`)),
          reject,
        );
      });
    },
  };
}

/** Runs a child to completion and returns its result. */
export function runChild<T>(script: string | URL, args: unknown): Promise<T> {
  return spawnChild<T>(script, args).result;
}

function lineSplitter(): TransformStream<string, string> {
  let buffer = "";
  return new TransformStream({
    transform(chunk, controller) {
      buffer += chunk;
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const line of lines) controller.enqueue(line);
    },
    flush(controller) {
      if (buffer) controller.enqueue(buffer);
    },
  });
}

/** In a child: its JSON argument (the parent's `args`). */
export function childArgs<T>(): T {
  return JSON.parse(Deno.args[0] ?? "{}") as T;
}

/** In a child: prints its result where the parent looks for it. */
export function report(result: unknown): void {
  console.log(RESULT_MARKER + JSON.stringify(result));
}

/** In a child: tells the parent it is ready (see `Child.ready`). */
export function signalReady(line = "ready"): void {
  console.log(line);
}

/** The p-th percentile (0-100) by nearest rank; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1];
}

/** Jobs per second for `count` jobs in `ms` milliseconds. */
export function rate(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : Infinity;
}

/** p50 and p99 rows of a latency sample. */
export function latencyRows(
  metric: string,
  subject: string,
  samples: readonly number[],
  extra: Partial<BenchRow> = {},
): BenchRow[] {
  return [
    { metric: `${metric} p50`, subject, value: percentile(samples, 50), unit: "ms", ...extra },
    { metric: `${metric} p99`, subject, value: percentile(samples, 99), unit: "ms", ...extra },
  ];
}

function format(value: number, unit: BenchRow["unit"]): string {
  if (!Number.isFinite(value)) return String(value);
  if (unit === "ms") return value < 10 ? value.toFixed(2) : value.toFixed(1);
  if (unit === "bytes") return value.toFixed(0);
  return value >= 10_000 ? `${(value / 1000).toFixed(1)}k` : value.toFixed(0);
}

/**
 * The ratio of a row against the row of subject `versus` for the same
 * metric: ours/peer for throughput, peer/ours for latency (so > 1 is better).
 */
export function ratioOf(
  row: BenchRow,
  rows: readonly BenchRow[],
  versus: string,
): number | undefined {
  const peer = rows.find((r) => r.metric === row.metric && r.subject === versus);
  if (!peer || !Number.isFinite(peer.value) || !Number.isFinite(row.value)) return undefined;
  return row.unit === "jobs/s" ? row.value / peer.value : peer.value / row.value;
}

function ratios(row: BenchRow, rows: readonly BenchRow[]): string {
  const peers = row.versus === undefined ? [] : [row.versus].flat();
  return peers.map((peer) => {
    const ratio = ratioOf(row, rows, peer);
    return ratio === undefined ? "" : `${ratio.toFixed(2)}x vs ${peer}`;
  }).filter(Boolean).join(", ");
}

/** Renders the rows as a fixed-width table; the ratio column is "better when > 1". */
export function formatTable(title: string, rows: readonly BenchRow[]): string {
  const header = ["metric", "subject", "value", "unit", "ratio", "goal"];
  const body = rows.map((row) => [
    row.metric,
    row.subject,
    format(row.value, row.unit),
    row.unit,
    ratios(row, rows),
    row.goal ?? "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((line) => line[i].length)));
  const render = (line: string[]) =>
    line.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd();
  return [
    `## ${title}`,
    render(header),
    render(widths.map((w) => "-".repeat(w))),
    ...body.map(render),
  ]
    .join("\n");
}

/** Prints the table (see {@link formatTable}). */
export function printTable(title: string, rows: readonly BenchRow[]): void {
  console.log(`\n${formatTable(title, rows)}\n`);
}
