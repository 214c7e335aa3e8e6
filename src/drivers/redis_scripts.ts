/**
 * Every Lua script of the Redis driver. Each state change that touches more
 * than one key is one script, so it is atomic; all keys of a script belong to
 * one queue (one hash tag, one cluster slot) or to the shared `{@}` tag.
 * ioredis `defineCommand` loads each script once, runs it with EVALSHA and
 * reloads it on NOSCRIPT. Times come from `redis.call('TIME')`, the store clock.
 * No script text is ever built from input.
 *
 * The ready list holds three kinds of entries, oldest at the head:
 * - `{...}`: a wire-format JSON object pushed by another program with a plain
 *   RPUSH; its id is read from its "id" field when the job is reserved;
 * - `<availableAtMs>|<id>|<payload>`: pushed by this driver; an empty payload
 *   means the payload is in the `jobs` hash (a released or rescued job);
 * - `!`: a wake marker, pushed only onto an empty list when a delayed job is
 *   stored, so that idle workers blocked on the list re-read the next due time.
 *   Reserve discards it; counts ignore it (it can only be the head).
 *
 * @module
 */

import type { QueueKeys } from "./redis_keys.ts";

/** A script with its key count. */
export interface ScriptDef {
  /** How many leading arguments are KEYS. */
  numberOfKeys: number;
  /** For scripts of one queue: its KEYS, in order, by their name in QueueKeys. */
  queueKeys?: readonly (keyof QueueKeys)[];
  /** The Lua source. */
  lua: string;
}

/** Store clock: `now` in ms from TIME. */
const NOW = `
local __t = redis.call('TIME')
local now = tonumber(__t[1]) * 1000 + math.floor(tonumber(__t[2]) / 1000)
`;

/** Wakes blocked workers after a delayed job was stored (KEYS[1] must be the ready list). */
const WAKE = `
local function wake_if_idle()
  if redis.call('LLEN', KEYS[1]) == 0 then redis.call('RPUSH', KEYS[1], '!') end
end
`;

/**
 * Counts `n` finished attempts: totals, the minute bucket (pruning old minutes
 * once a minute), and the duration samples (a capped list).
 */
const COUNT = `
local function count(metrics, durations, kind, n, now, samples)
  if kind and n > 0 then
    redis.call('HINCRBY', metrics, 'total:' .. kind, n)
    local minute = now - now % 60000
    if redis.call('HINCRBY', metrics, string.format('%d:%s', minute, kind), n) == n then
      local oldest = minute - 59 * 60000
      for _, field in ipairs(redis.call('HKEYS', metrics)) do
        local m = tonumber(string.match(field, '^(%d+):'))
        if m and m < oldest then redis.call('HDEL', metrics, field) end
      end
    end
  end
  -- Trim only once the list has grown well past its 512 samples: LTRIM on every call
  -- was a measurable part of an ack.
  if #samples > 0 and redis.call('LPUSH', durations, unpack(samples)) > 640 then
    redis.call('LTRIM', durations, 0, 511)
  end
end
local function sample(duration)
  local value = tonumber(duration)
  if value >= 0 then return {value} end
  return {}
end
`;

/** COUNT with the figures left out: the same functions, doing nothing. */
const NO_COUNT = `
local function count(metrics, durations, kind, n, now, samples) end
local function sample(duration) return {} end
`;

/**
 * push: stores jobs of one queue.
 * KEYS: 1 ready, 2 delayed, 3 jobs.
 * ARGV: triples of delayMs, id, payload.
 * Returns: the store time (ms).
 */
const push: ScriptDef = {
  numberOfKeys: 3,
  queueKeys: ["ready", "delayed", "jobs"],
  lua: NOW + WAKE + `
local ready, earliest, stamp = {}, nil, string.format('%d|', now)
for i = 1, #ARGV, 3 do
  local delay = tonumber(ARGV[i])
  if delay > 0 then
    local at = now + delay
    redis.call('HSET', KEYS[3], ARGV[i + 1], ARGV[i + 2])
    redis.call('ZADD', KEYS[2], at, ARGV[i + 1])
    if not earliest or at < earliest then earliest = at end
  else
    ready[#ready + 1] = stamp .. ARGV[i + 1] .. '|' .. ARGV[i + 2]
    if #ready == 1000 then
      redis.call('RPUSH', KEYS[1], unpack(ready))
      ready = {}
    end
  end
end
if #ready > 0 then redis.call('RPUSH', KEYS[1], unpack(ready)) end
if earliest then
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  if tonumber(first[2]) >= earliest then wake_if_idle() end
end
return now
`,
};

/**
 * reserve: makes due delayed jobs and expired reservations ready, then takes
 * up to ARGV[1] jobs from the head of the ready list, unless the queue is paused.
 * KEYS: 1 ready, 2 delayed, 3 reserved, 4 jobs, 5 attempts, 6 tokens, 7 paused.
 * ARGV: 1 count, 2 retryAfterMs, 3 token prefix (unique per call).
 * Returns: {now, nextDueAt or -1 (only when nothing was taken), paused 0/1,
 *   then id, payload, attempts, token for each job taken}.
 */
const reserve: ScriptDef = {
  numberOfKeys: 7,
  queueKeys: ["ready", "delayed", "reserved", "jobs", "attempts", "tokens", "paused"],
  lua: NOW + `
if redis.call('EXISTS', KEYS[7]) == 1 then return {now, -1, 1} end
local function rescue(set, drop_token)
  local due = redis.call('ZRANGEBYSCORE', set, '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1000)
  if #due == 0 then return end
  for i = 1, #due, 2 do
    redis.call('RPUSH', KEYS[1], due[i + 1] .. '|' .. due[i] .. '|')
    if drop_token then redis.call('HDEL', KEYS[6], due[i]) end
  end
  redis.call('ZREMRANGEBYRANK', set, 0, #due / 2 - 1)
end
rescue(KEYS[2], false)
rescue(KEYS[3], true)
local wanted, expiry, prefix = tonumber(ARGV[1]), now + tonumber(ARGV[2]), ARGV[3]
local out, taken = {now, -1, 0}, 0
while taken < wanted do
  local entries = redis.call('LPOP', KEYS[1], wanted - taken)
  if not entries then break end
  for _, entry in ipairs(entries) do
    local id, payload = nil, false
    if string.byte(entry, 1) == 123 then
      local ok, job = pcall(cjson.decode, entry)
      if ok and type(job) == 'table' and type(job.id) == 'string' and job.id ~= '' then
        id = job.id
      else
        id = prefix .. '-' .. taken
      end
      payload = entry
      redis.call('HSET', KEYS[4], id, payload)
    elseif entry ~= '!' then
      local a = string.find(entry, '|', 1, true)
      local b = a and string.find(entry, '|', a + 1, true)
      if b then
        id = string.sub(entry, a + 1, b - 1)
        if b < #entry then
          payload = string.sub(entry, b + 1)
          redis.call('HSET', KEYS[4], id, payload)
        else
          payload = redis.call('HGET', KEYS[4], id)
        end
      end
    end
    if payload then
      taken = taken + 1
      local token = prefix .. ':' .. taken
      local attempts = redis.call('HINCRBY', KEYS[5], id, 1)
      redis.call('HSET', KEYS[6], id, token)
      redis.call('ZADD', KEYS[3], expiry, id)
      out[#out + 1] = id
      out[#out + 1] = payload
      out[#out + 1] = attempts
      out[#out + 1] = token
    end
  end
end
if taken == 0 then
  local a = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  local b = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  local next = a[2] and tonumber(a[2])
  if b[2] and (not next or tonumber(b[2]) < next) then next = tonumber(b[2]) end
  if next then out[2] = next end
end
return out
`,
};

/**
 * delete: acknowledges reserved jobs of one queue (the acks of one tick,
 * batched by the driver) and counts them as processed.
 * KEYS: 1 reserved, 2 jobs, 3 attempts, 4 tokens, 5 metrics, 6 durations.
 * ARGV: triples of id, token, durationMs or -1.
 * Returns: per triple 1, or 0 when the token is not the live reservation's.
 */
const ack: ScriptDef = {
  numberOfKeys: 6,
  queueKeys: ["reserved", "jobs", "attempts", "tokens", "metrics", "durations"],
  lua: NOW + COUNT + `
local out, done, samples = {}, 0, {}
for i = 1, #ARGV, 3 do
  local id = ARGV[i]
  if redis.call('HGET', KEYS[4], id) == ARGV[i + 1] then
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
    redis.call('HDEL', KEYS[4], id)
    done = done + 1
    local duration = tonumber(ARGV[i + 2])
    if duration >= 0 then samples[#samples + 1] = duration end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
count(KEYS[5], KEYS[6], 'p', done, now, samples)
return out
`,
};

/**
 * release: puts a reserved job back, now or after a delay; attempts are kept.
 * KEYS: 1 ready, 2 delayed, 3 reserved, 4 tokens, 5 metrics, 6 durations.
 * ARGV: 1 id, 2 token, 3 delayMs, 4 durationMs or -1.
 * Returns: 1, or 0 when the token is not the live reservation's.
 */
const release: ScriptDef = {
  numberOfKeys: 6,
  queueKeys: ["ready", "delayed", "reserved", "tokens", "metrics", "durations"],
  lua: NOW + WAKE + COUNT + `
if redis.call('HGET', KEYS[4], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
local delay = tonumber(ARGV[3])
if delay > 0 then
  redis.call('ZADD', KEYS[2], now + delay, ARGV[1])
  wake_if_idle()
else
  redis.call('RPUSH', KEYS[1], string.format('%d|', now) .. ARGV[1] .. '|')
end
count(KEYS[5], KEYS[6], nil, 0, now, sample(ARGV[4]))
return 1
`,
};

/**
 * fail: moves a reserved job to the failed store and counts it as failed.
 * KEYS: 1 reserved, 2 jobs, 3 attempts, 4 tokens, 5 failed, 6 failed_index, 7 metrics, 8 durations.
 * ARGV: 1 id, 2 token, 3 error, 4 stack, 5 durationMs or -1.
 * Returns: 1, or 0 when the token is not the live reservation's.
 */
const fail: ScriptDef = {
  numberOfKeys: 8,
  queueKeys: [
    "reserved",
    "jobs",
    "attempts",
    "tokens",
    "failed",
    "failedIndex",
    "metrics",
    "durations",
  ],
  lua: NOW + COUNT + `
if redis.call('HGET', KEYS[4], ARGV[1]) ~= ARGV[2] then return 0 end
local micros = tonumber(__t[1]) * 1000000 + tonumber(__t[2])
local record = cjson.encode({
  payload = redis.call('HGET', KEYS[2], ARGV[1]) or '',
  error = ARGV[3],
  stack = ARGV[4],
  attempts = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0'),
  failedAt = now,
})
redis.call('HSET', KEYS[5], ARGV[1], record)
redis.call('ZADD', KEYS[6], micros, ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
count(KEYS[7], KEYS[8], 'f', 1, now, sample(ARGV[5]))
return 1
`,
};

/**
 * clear: removes the ready, delayed and reserved jobs of a queue.
 * KEYS: 1 ready, 2 delayed, 3 reserved, 4 jobs, 5 attempts, 6 tokens.
 * ARGV: none.
 * Returns: how many jobs were removed.
 */
const clear: ScriptDef = {
  numberOfKeys: 6,
  queueKeys: ["ready", "delayed", "reserved", "jobs", "attempts", "tokens"],
  lua: `
local ready = redis.call('LLEN', KEYS[1])
if ready > 0 and redis.call('LINDEX', KEYS[1], 0) == '!' then ready = ready - 1 end
local n = ready + redis.call('ZCARD', KEYS[2]) + redis.call('ZCARD', KEYS[3])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
return n
`,
};

/**
 * stats: counts of one queue.
 * KEYS: 1 ready, 2 delayed, 3 reserved, 4 failed, 5 paused.
 * ARGV: none.
 * Returns: {ready, delayed, reserved, failed, paused 0/1, oldestReadyAt or -1}.
 */
const stats: ScriptDef = {
  numberOfKeys: 5,
  queueKeys: ["ready", "delayed", "reserved", "failed", "paused"],
  lua: NOW + `
local listed = redis.call('LLEN', KEYS[1])
local head = redis.call('LINDEX', KEYS[1], 0)
if head == '!' then
  listed = listed - 1
  head = redis.call('LINDEX', KEYS[1], 1)
end
local oldest = -1
if head then
  if string.byte(head, 1) == 123 then
    local ok, job = pcall(cjson.decode, head)
    oldest = (ok and type(job) == 'table' and tonumber(job.createdAt)) or now
  else
    oldest = tonumber(string.match(head, '^(%d+)|')) or now
  end
end
local due = redis.call('ZCOUNT', KEYS[2], '-inf', now)
if due > 0 then
  local first = tonumber(redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2])
  if oldest < 0 or first < oldest then oldest = first end
end
return {listed + due, redis.call('ZCARD', KEYS[2]) - due, redis.call('ZCARD', KEYS[3]),
  redis.call('HLEN', KEYS[4]), redis.call('EXISTS', KEYS[5]), oldest}
`,
};

/**
 * failed_retry: puts a failed job back on its queue with attempts reset.
 * KEYS: 1 failed, 2 failed_index, 3 ready, 4 attempts.
 * ARGV: 1 id.
 * Returns: 1, or 0 when the id is not in this queue's failed store.
 */
const failedRetry: ScriptDef = {
  numberOfKeys: 4,
  queueKeys: ["failed", "failedIndex", "ready", "attempts"],
  lua: NOW + `
local record = redis.call('HGET', KEYS[1], ARGV[1])
if not record then return 0 end
local payload = cjson.decode(record).payload
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('RPUSH', KEYS[3], string.format('%d|', now) .. ARGV[1] .. '|' .. payload)
return 1
`,
};

/**
 * failed_forget: deletes one failed job.
 * KEYS: 1 failed, 2 failed_index. ARGV: 1 id.
 * Returns: 1 when it existed, else 0.
 */
const failedForget: ScriptDef = {
  numberOfKeys: 2,
  queueKeys: ["failed", "failedIndex"],
  lua: `
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[1], ARGV[1])
`,
};

/**
 * failed_flush: deletes every failed job of a queue.
 * KEYS: 1 failed, 2 failed_index. ARGV: none.
 * Returns: how many were deleted.
 */
const failedFlush: ScriptDef = {
  numberOfKeys: 2,
  queueKeys: ["failed", "failedIndex"],
  lua: `
local n = redis.call('HLEN', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
return n
`,
};

/**
 * stop: records a stop broadcast at the store time.
 * KEYS: 1 stop. ARGV: none.
 * Returns: the recorded time (ms).
 */
const stop: ScriptDef = {
  numberOfKeys: 1,
  lua: NOW + `
redis.call('SET', KEYS[1], now)
return now
`,
};

/**
 * heartbeat: records a worker's beat at the store time.
 * KEYS: 1 workers, 2 beats. ARGV: 1 worker id, 2 beat JSON.
 * Returns: the store time (ms).
 */
const heartbeat: ScriptDef = {
  numberOfKeys: 2,
  lua: NOW + `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[1])
return now
`,
};

/**
 * remove_worker: drops a worker's entry.
 * KEYS: 1 workers, 2 beats. ARGV: 1 worker id.
 * Returns: 1 when it existed, else 0.
 */
const removeWorker: ScriptDef = {
  numberOfKeys: 2,
  lua: `
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[1], ARGV[1])
`,
};

/**
 * workers: prunes workers silent for longer than ARGV[1] ms, lists the rest.
 * KEYS: 1 workers, 2 beats. ARGV: 1 aliveWithinMs.
 * Returns: {beat JSON, lastBeatAt, ...} for each live worker.
 */
const workers: ScriptDef = {
  numberOfKeys: 2,
  lua: NOW + `
local limit = '(' .. string.format('%d', now - tonumber(ARGV[1]))
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', limit)) do
  redis.call('HDEL', KEYS[1], id)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', limit)
local out = {}
local live = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = 1, #live, 2 do
  local beat = redis.call('HGET', KEYS[1], live[i])
  if beat then
    out[#out + 1] = beat
    out[#out + 1] = live[i + 1]
  end
end
return out
`,
};

/** Every script by the command name it is defined under on the client. */
export const SCRIPTS = {
  queuePush: push,
  queueReserve: reserve,
  queueDelete: ack,
  queueRelease: release,
  queueFail: fail,
  queueClear: clear,
  queueStats: stats,
  queueFailedRetry: failedRetry,
  queueFailedForget: failedForget,
  queueFailedFlush: failedFlush,
  queueStop: stop,
  queueHeartbeat: heartbeat,
  queueRemoveWorker: removeWorker,
  queueWorkers: workers,
} as const satisfies Record<string, ScriptDef>;

/** The name of a script command. */
export type ScriptName = keyof typeof SCRIPTS;

/** Anything ioredis-like that can define commands (Redis or Cluster). */
export interface ScriptHost {
  /** ioredis `defineCommand`. */
  defineCommand(name: string, definition: { numberOfKeys?: number; lua: string }): void;
}

/**
 * Defines every script on a client, so it runs by EVALSHA and reloads on
 * NOSCRIPT. With `figures: false` the scripts keep no monitoring figures
 * (for measuring what they cost).
 */
export function defineScripts(client: ScriptHost, options: { figures?: boolean } = {}): void {
  for (const [name, script] of Object.entries(SCRIPTS)) {
    const lua = options.figures === false ? script.lua.replace(COUNT, NO_COUNT) : script.lua;
    client.defineCommand(name, { numberOfKeys: script.numberOfKeys, lua });
  }
}
