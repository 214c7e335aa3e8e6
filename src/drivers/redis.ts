/**
 * The Redis driver (standalone or Redis Cluster) on ioredis. Every state
 * change that touches more than one key is one Lua script (redis_scripts.ts);
 * key names live in redis_keys.ts; connection settings in redis_connect.ts.
 *
 * An idle `reserve` does not poll: it blocks on `BLMOVE ready ready LEFT LEFT`
 * (a no-op rotation, so nothing is taken outside a script) on a dedicated
 * connection per queue, and on a timer for the next delayed job or expiring
 * reservation. Another program enqueues with one `RPUSH` of the wire-format
 * JSON onto `<prefix>:{<queue>}:ready`.
 *
 * @module
 */

import type {
  Driver,
  FailedJob,
  Failure,
  NewJob,
  Outcome,
  QueueClaim,
  QueueMetrics,
  QueueStats,
  ReservedJob,
  ReserveRequest,
  WorkerBeat,
} from "./driver.ts";
import type { RedisConfig } from "../config_types.ts";
import { type QueueKeys, RedisKeys } from "./redis_keys.ts";
import { defineScripts, type ScriptName, SCRIPTS } from "./redis_scripts.ts";
import {
  connectClient,
  createClient,
  type ReconnectGate,
  type RedisClient,
  redisTarget,
  wrapError,
} from "./redis_connect.ts";
import { ReadyWatch, waitAny } from "./redis_watch.ts";
import { parseFailed, parseMetrics, parseReserved, pushArgs } from "./redis_records.ts";
import { DURATION_SAMPLES } from "./metrics_window.ts";

/** Options of the Redis driver beyond the `redis:` config block. */
export interface RedisDriverOptions {
  /** Largest number of jobs per push script call in `pushBulk` (default 2000). */
  bulkChunk?: number;
  /**
   * Keep the monitoring figures (per-minute counts, durations) in the ack,
   * release and fail scripts (default true). `false` is for measuring their cost.
   */
  figures?: boolean;
}

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

interface Taken {
  jobs: ReservedJob[];
  nextDueInMs: number | undefined;
  open: string[];
}

/** Most acks sent in one script call. */
const MAX_ACK_BATCH = 512;

interface PendingAck {
  job: ReservedJob;
  durationMs: number;
  resolve: (deleted: boolean) => void;
  reject: (error: unknown) => void;
}

/** A driver that keeps queues in Redis or Redis Cluster. */
export class RedisDriver implements Driver {
  /** Always "redis". */
  readonly name = "redis";
  /** Where it connects, without the password. */
  readonly target: string;
  #config: RedisConfig;
  #keys: RedisKeys;
  #gate: ReconnectGate = { connected: false, closed: false };
  #client: RedisClient;
  #watches = new Map<string, ReadyWatch>();
  #known = new Set<string>();
  #tokenPrefix = crypto.randomUUID().slice(0, 8);
  #tokenSeq = 0;
  #bulkChunk: number;
  #acks = new Map<string, PendingAck[]>();
  #connecting: Promise<void> | undefined;

  /** Creates the driver; nothing connects until `connect()` (or the first command). */
  constructor(config: RedisConfig, options: RedisDriverOptions = {}) {
    this.#config = config;
    this.#keys = new RedisKeys(config.prefix ?? "queue");
    this.target = redisTarget(config);
    this.#client = createClient(config, this.#gate);
    this.#client.on("error", () => {/* reported through the failing command */});
    defineScripts(this.#client, { figures: options.figures });
    this.#bulkChunk = options.bulkChunk ?? 2000;
  }

  /** Connects; throws ConnectionError naming host:port when Redis is unreachable. */
  connect(): Promise<void> {
    this.#gate.closed = false;
    // Concurrent first commands share one connect.
    this.#connecting ??= connectClient(this.#client, this.#config).then(
      () => {
        this.#gate.connected = true;
      },
      (error) => {
        this.#connecting = undefined;
        throw error;
      },
    );
    return this.#connecting;
  }

  /** Ends waiting reserves and closes every connection. */
  async close(): Promise<void> {
    this.#gate.closed = true;
    this.#gate.connected = false;
    this.#connecting = undefined;
    for (const watch of this.#watches.values()) watch.close();
    this.#watches.clear();
    if (this.#client.status !== "end") {
      await this.#client.quit().catch(() => this.#client.disconnect());
    }
  }

  async #run<T>(fn: (client: RedisClient) => Promise<T>): Promise<T> {
    if (!this.#gate.connected && !this.#gate.closed) await this.connect();
    try {
      return await fn(this.#client);
    } catch (error) {
      this.#dropIfTimedOut(error);
      throw wrapError(error, this.#config);
    }
  }

  /**
   * A command unanswered within `read_timeout` means the socket may be
   * half-open (a peer or firewall gone silent): ioredis only fails the command
   * and keeps the socket, so every later command would time out too. Drop it
   * and reconnect (commands in flight on it fail and are reported as usual).
   */
  #dropIfTimedOut(error: unknown): void {
    if (!isCommandTimeout(error) || this.#gate.closed) return;
    const status = this.#client.status;
    if (status === "ready" || status === "connect") this.#client.disconnect(true);
  }

  #script(name: ScriptName, keys: string[], args: (string | number)[] = []): Promise<unknown> {
    return this.#run((client) =>
      (client as unknown as Record<string, ScriptCall>)[name](...keys, ...args)
    );
  }

  /** Runs a script of one queue; its KEYS come from the script's own `queueKeys` list. */
  #queueScript(name: ScriptName, queue: string, args: (string | number)[] = []): Promise<unknown> {
    const keys = this.#keys.queue(queue);
    return this.#script(name, SCRIPTS[name].queueKeys!.map((key) => keys[key]), args);
  }

  async #register(queue: string): Promise<QueueKeys> {
    const keys = this.#keys.queue(queue);
    if (!this.#known.has(queue)) {
      await this.#run((client) => client.sadd(this.#keys.global.queues, queue));
      this.#known.add(queue);
    }
    return keys;
  }

  async #registered(): Promise<string[]> {
    return (await this.#run((client) => client.smembers(this.#keys.global.queues))).sort();
  }

  /** The store clock (Redis TIME) in ms. */
  async now(): Promise<number> {
    const [seconds, micros] = await this.#run((client) => client.time());
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** Stores one job. */
  async push(job: NewJob): Promise<void> {
    await this.#register(job.queue);
    await this.#queueScript("queuePush", job.queue, pushArgs([job]));
  }

  /** Stores many jobs: one script call per queue and chunk, all sent at once. */
  async pushBulk(jobs: readonly NewJob[]): Promise<void> {
    const byQueue = new Map<string, NewJob[]>();
    for (const job of jobs) {
      const list = byQueue.get(job.queue) ?? [];
      list.push(job);
      byQueue.set(job.queue, list);
    }
    const calls: Promise<unknown>[] = [];
    for (const [queue, list] of byQueue) {
      await this.#register(queue);
      for (let i = 0; i < list.length; i += this.#bulkChunk) {
        const args = pushArgs(list.slice(i, i + this.#bulkChunk));
        calls.push(this.#queueScript("queuePush", queue, args));
      }
    }
    await Promise.all(calls);
  }

  /** Takes jobs in queue priority order; waits on a blocking command when none is ready. */
  async reserve(request: ReserveRequest): Promise<ReservedJob[]> {
    const wanted = Math.max(1, request.count ?? 1);
    const deadline = Date.now() + (request.waitMs ?? 0);
    while (true) {
      const taken = await this.#take(request.queues, wanted);
      if (taken.jobs.length > 0 || this.#gate.closed || request.signal?.aborted) return taken.jobs;
      const left = deadline - Date.now();
      if (left <= 0) return [];
      await this.#waitAny(taken.open, Math.min(left, taken.nextDueInMs ?? left), request.signal);
      if (this.#gate.closed || request.signal?.aborted) return [];
    }
  }

  async #take(queues: readonly QueueClaim[], wanted: number): Promise<Taken> {
    const taken: Taken = { jobs: [], nextDueInMs: undefined, open: [] };
    for (const claim of queues) {
      if (taken.jobs.length >= wanted) break;
      await this.#register(claim.name);
      const prefix = `${this.#tokenPrefix}.${(this.#tokenSeq++).toString(36)}`;
      const reply = await this.#queueScript("queueReserve", claim.name, [
        wanted - taken.jobs.length,
        claim.retryAfterMs,
        prefix,
      ]) as (string | number)[];
      const [now, nextDue, paused] = reply as number[];
      if (paused !== 1) taken.open.push(claim.name);
      if (nextDue >= 0) {
        const dueIn = Math.max(1, nextDue - now);
        taken.nextDueInMs = Math.min(taken.nextDueInMs ?? dueIn, dueIn);
      }
      taken.jobs.push(...parseReserved(reply, claim));
    }
    return taken;
  }

  #waitAny(queues: string[], ms: number, signal?: AbortSignal): Promise<void> {
    return waitAny(queues.map((queue) => this.#watch(queue)), ms, signal);
  }

  #watch(queue: string): ReadyWatch {
    let watch = this.#watches.get(queue);
    if (!watch) {
      const client = createClient(this.#config, this.#gate, true);
      watch = new ReadyWatch(client, this.#keys.queue(queue).ready);
      this.#watches.set(queue, watch);
    }
    return watch;
  }

  /**
   * Acknowledges a reserved job and counts it as processed. Acks made in the
   * same tick share one script call (one write, one reply).
   */
  delete(job: ReservedJob, outcome?: Outcome): Promise<boolean> {
    return new Promise((resolve, reject) => {
      let batch = this.#acks.get(job.queue);
      if (!batch) {
        batch = [];
        this.#acks.set(job.queue, batch);
        queueMicrotask(() => this.#flushAcks(job.queue));
      }
      batch.push({ job, durationMs: outcome?.durationMs ?? -1, resolve, reject });
      if (batch.length >= MAX_ACK_BATCH) this.#flushAcks(job.queue);
    });
  }

  /** Sends the acks of one queue gathered in this tick as one script call. */
  #flushAcks(queue: string): void {
    const batch = this.#acks.get(queue);
    if (!batch) return;
    this.#acks.delete(queue);
    const args = batch.flatMap((ack) => [ack.job.id, ack.job.token, ack.durationMs]);
    this.#queueScript("queueDelete", queue, args).then(
      (reply) => batch.forEach((ack, i) => ack.resolve((reply as number[])[i] === 1)),
      (error) => batch.forEach((ack) => ack.reject(error)),
    );
  }

  /** Puts a reserved job back, available after `delayMs`. */
  async release(job: ReservedJob, delayMs: number, outcome?: Outcome): Promise<boolean> {
    const reply = await this.#queueScript("queueRelease", job.queue, [
      job.id,
      job.token,
      Math.max(0, Math.round(delayMs)),
      outcome?.durationMs ?? -1,
    ]);
    return reply === 1;
  }

  /** Moves a reserved job to the failed store and counts it as failed. */
  async fail(job: ReservedJob, failure: Failure, outcome?: Outcome): Promise<boolean> {
    const reply = await this.#queueScript("queueFail", job.queue, [
      job.id,
      job.token,
      failure.error,
      failure.stack ?? "",
      outcome?.durationMs ?? -1,
    ]);
    return reply === 1;
  }

  /** ready + delayed + reserved. */
  async size(queue: string): Promise<number> {
    const stats = await this.stats(queue);
    return stats.ready + stats.delayed + stats.reserved;
  }

  /** Counts of one queue, read atomically. */
  async stats(queue: string): Promise<QueueStats> {
    const reply = await this.#queueScript("queueStats", queue);
    const [ready, delayed, reserved, failed, paused, oldest] = (reply as number[]).map(Number);
    return {
      queue,
      ready,
      delayed,
      reserved,
      failed,
      paused: paused === 1,
      oldestReadyAt: oldest < 0 ? null : oldest,
    };
  }

  /** Known queues that hold jobs, failed jobs or a pause flag. */
  async queues(): Promise<string[]> {
    const names = await this.#registered();
    const stats = await Promise.all(names.map((name) => this.stats(name)));
    return stats.filter((s) => s.ready + s.delayed + s.reserved + s.failed > 0 || s.paused)
      .map((s) => s.queue);
  }

  /** Removes the ready, delayed and reserved jobs of a queue. */
  async clear(queue: string): Promise<number> {
    return Number(await this.#queueScript("queueClear", queue));
  }

  /** Failed jobs, newest first, merged across queues. */
  async failedList(
    options: { queue?: string; limit?: number; offset?: number } = {},
  ): Promise<FailedJob[]> {
    const offset = options.offset ?? 0;
    const end = options.limit === undefined ? -1 : offset + options.limit - 1;
    const names = options.queue === undefined ? await this.#registered() : [options.queue];
    const lists = await Promise.all(names.map((queue) => this.#failedOf(queue, end)));
    const all = lists.flat().sort((a, b) => b.score - a.score).map((entry) => entry.job);
    return all.slice(offset, options.limit === undefined ? undefined : offset + options.limit);
  }

  async #failedOf(queue: string, end: number): Promise<{ score: number; job: FailedJob }[]> {
    const k = this.#keys.queue(queue);
    const index = await this.#run((client) =>
      client.zrevrange(k.failedIndex, 0, end, "WITHSCORES")
    );
    if (index.length === 0) return [];
    const ids = index.filter((_, i) => i % 2 === 0);
    const records = await this.#run((client) => client.hmget(k.failed, ...ids));
    return parseFailed(queue, index, records);
  }

  /** Number of failed jobs, of one queue or all. */
  async failedCount(queue?: string): Promise<number> {
    const names = queue === undefined ? await this.#registered() : [queue];
    const counts = await Promise.all(
      names.map((name) => this.#run((client) => client.hlen(this.#keys.queue(name).failed))),
    );
    return counts.reduce((sum, n) => sum + n, 0);
  }

  /** Puts a failed job back on its queue with attempts reset. */
  async failedRetry(id: string): Promise<boolean> {
    for (const queue of await this.#registered()) {
      if (await this.#queueScript("queueFailedRetry", queue, [id]) === 1) return true;
    }
    return false;
  }

  /** Deletes a failed job. */
  async failedForget(id: string): Promise<boolean> {
    for (const queue of await this.#registered()) {
      if (await this.#queueScript("queueFailedForget", queue, [id]) === 1) return true;
    }
    return false;
  }

  /** Deletes failed jobs of one queue or all. */
  async failedFlush(queue?: string): Promise<number> {
    const names = queue === undefined ? await this.#registered() : [queue];
    const counts = await Promise.all(
      names.map((name) => this.#queueScript("queueFailedFlush", name)),
    );
    return counts.reduce((sum: number, n) => sum + Number(n), 0);
  }

  /** Records a stop request at the store time. */
  async broadcastStop(): Promise<number> {
    return Number(await this.#script("queueStop", [this.#keys.global.stop]));
  }

  /** The last stop request, or null. */
  async lastStopAt(): Promise<number | null> {
    const value = await this.#run((client) => client.get(this.#keys.global.stop));
    return value === null ? null : Number(value);
  }

  /** Pauses a queue: reserve skips it. */
  async pause(queue: string): Promise<void> {
    const keys = await this.#register(queue);
    await this.#run((client) => client.set(keys.paused, "1"));
  }

  /** Resumes a queue. */
  async resume(queue: string): Promise<void> {
    await this.#run((client) => client.del(this.#keys.queue(queue).paused));
  }

  /** Names of the paused queues. */
  async pausedQueues(): Promise<string[]> {
    const names = await this.#registered();
    const flags = await Promise.all(
      names.map((name) => this.#run((client) => client.exists(this.#keys.queue(name).paused))),
    );
    return names.filter((_, i) => flags[i] === 1);
  }

  /** Records a heartbeat; lastBeatAt comes from the store clock. */
  async heartbeat(beat: WorkerBeat): Promise<void> {
    const { workers, beats } = this.#keys.global;
    await this.#script("queueHeartbeat", [workers, beats], [beat.id, JSON.stringify(beat)]);
  }

  /** Removes a worker's entry. */
  async removeWorker(id: string): Promise<void> {
    const { workers, beats } = this.#keys.global;
    await this.#script("queueRemoveWorker", [workers, beats], [id]);
  }

  /** Live workers; older entries are pruned. */
  async workers(aliveWithinMs: number): Promise<WorkerBeat[]> {
    const { workers, beats } = this.#keys.global;
    const reply = await this.#script("queueWorkers", [workers, beats], [
      Math.round(aliveWithinMs),
    ]) as string[];
    const out: WorkerBeat[] = [];
    for (let i = 0; i < reply.length; i += 2) {
      out.push({ ...JSON.parse(reply[i]), lastBeatAt: Number(reply[i + 1]) });
    }
    return out;
  }

  /** Per-minute counts, totals and duration percentiles of a queue. */
  async metrics(queue: string): Promise<QueueMetrics> {
    const k = this.#keys.queue(queue);
    const [now, fields, samples] = await Promise.all([
      this.now(),
      this.#run((client) => client.hgetall(k.metrics)),
      this.#run((client) => client.lrange(k.durations, 0, DURATION_SAMPLES - 1)),
    ]);
    return parseMetrics(queue, now, fields, samples);
  }
}

/** True for ioredis's `commandTimeout` rejection. */
export function isCommandTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === "Command timed out";
}
