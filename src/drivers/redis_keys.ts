/**
 * Every Redis key the driver uses, spelled here and nowhere else. All keys of
 * one queue carry the hash tag `{queue}`, so each Lua script touches a single
 * cluster slot. Keys shared by all queues carry the tag `{@}` (`@` never
 * appears in a queue name), so they too sit together in one slot.
 *
 * Layout (prefix "queue", queue "default"):
 *
 * | key | type | holds |
 * | --- | --- | --- |
 * | `queue:{default}:ready` | list | jobs available now, oldest at the head (see redis_scripts.ts for the entry forms) |
 * | `queue:{default}:delayed` | zset | job id, score = available at (ms) |
 * | `queue:{default}:reserved` | zset | job id, score = reservation expiry (ms) |
 * | `queue:{default}:jobs` | hash | job id -> payload, for delayed and reserved jobs |
 * | `queue:{default}:attempts` | hash | job id -> reservations so far |
 * | `queue:{default}:tokens` | hash | job id -> token of the live reservation |
 * | `queue:{default}:paused` | string | present while the queue is paused |
 * | `queue:{default}:failed` | hash | job id -> JSON failure record |
 * | `queue:{default}:failed_index` | zset | job id, score = failed at (microseconds) |
 * | `queue:{default}:metrics` | hash | `total:p`, `total:f`, `<minute>:p`, `<minute>:f` |
 * | `queue:{default}:durations` | list | recent job durations (ms), newest first, capped |
 * | `queue:{@}:queues` | set | names of queues ever used through this prefix |
 * | `queue:{@}:stop` | string | time of the last stop broadcast (ms) |
 * | `queue:{@}:workers` | hash | worker id -> heartbeat JSON |
 * | `queue:{@}:beats` | zset | worker id, score = last beat (ms) |
 *
 * @module
 */

import { assertQueueName } from "../errors.ts";

/** The keys of one queue, in the order the scripts expect them. */
export interface QueueKeys {
  /** List of jobs available now. */
  ready: string;
  /** Sorted set of delayed jobs by available time. */
  delayed: string;
  /** Sorted set of reserved jobs by reservation expiry. */
  reserved: string;
  /** Hash of payloads of delayed and reserved jobs. */
  jobs: string;
  /** Hash of attempt counts. */
  attempts: string;
  /** Hash of live reservation tokens. */
  tokens: string;
  /** Pause flag. */
  paused: string;
  /** Hash of failure records. */
  failed: string;
  /** Sorted set of failed job ids by failure time. */
  failedIndex: string;
  /** Hash of counters (totals and per-minute). */
  metrics: string;
  /** Capped list of recent durations. */
  durations: string;
}

/** The keys shared by every queue under one prefix. */
export interface GlobalKeys {
  /** Set of known queue names. */
  queues: string;
  /** Time of the last stop broadcast. */
  stop: string;
  /** Hash of worker heartbeats. */
  workers: string;
  /** Sorted set of worker ids by last beat. */
  beats: string;
}

const PREFIX = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Builds key names for one prefix; caches the keys of each queue. */
export class RedisKeys {
  /** The prefix every key starts with. */
  readonly prefix: string;
  /** The shared keys. */
  readonly global: GlobalKeys;
  #cache = new Map<string, QueueKeys>();

  /** Validates the prefix (same characters as a queue name). */
  constructor(prefix = "queue") {
    if (!PREFIX.test(prefix)) {
      throw new TypeError(
        `Redis key prefix ${
          JSON.stringify(prefix)
        } is invalid: use 1-64 letters, digits, '_', '-', '.' or ':'.`,
      );
    }
    this.prefix = prefix;
    const tag = `${prefix}:{@}`;
    this.global = {
      queues: `${tag}:queues`,
      stop: `${tag}:stop`,
      workers: `${tag}:workers`,
      beats: `${tag}:beats`,
    };
  }

  /** The keys of a queue; throws InvalidQueueNameError for a bad name. */
  queue(name: string): QueueKeys {
    let keys = this.#cache.get(name);
    if (keys) return keys;
    assertQueueName(name);
    const tag = `${this.prefix}:{${name}}`;
    keys = {
      ready: `${tag}:ready`,
      delayed: `${tag}:delayed`,
      reserved: `${tag}:reserved`,
      jobs: `${tag}:jobs`,
      attempts: `${tag}:attempts`,
      tokens: `${tag}:tokens`,
      paused: `${tag}:paused`,
      failed: `${tag}:failed`,
      failedIndex: `${tag}:failed_index`,
      metrics: `${tag}:metrics`,
      durations: `${tag}:durations`,
    };
    this.#cache.set(name, keys);
    return keys;
  }
}
