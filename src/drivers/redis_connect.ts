/**
 * From the seed's `redis:` block to ioredis clients, and from ioredis errors
 * to the toolkit's {@link ConnectionError}. The mapping:
 *
 * - `host`, `port`, `username`, `password`, `db`: as named; `url` (redis:// or
 *   rediss://) overrides them; `tls: true` or `{ ca, cert, key, rejectUnauthorized }`
 *   (PEM text or file paths).
 * - `cluster: ["host:port", ...]`: an ioredis `Cluster` with those seed nodes;
 *   `password`, `username` and `tls` apply to every node; `db` must be 0.
 * - `read_timeout` -> ioredis `commandTimeout` (not for the blocking wait);
 *   `write_timeout` -> `connectTimeout` (default 10 s).
 * - `max_open_conns`, `max_idle_conns`: accepted and not used. ioredis
 *   pipelines every command over one connection, which is faster than a pool;
 *   a driver opens that one plus one blocking connection per queue it waits on.
 *
 * The first connect fails at once (no retry loop; a cluster client tries
 * three times) with one sentence naming host:port. After it succeeded, a lost
 * connection is re-established in the background (backoff 50 ms to 1 s);
 * commands issued meanwhile fail fast with a ConnectionError naming host:port
 * (a cluster client queues them until its slots are known again), and
 * blocking waits resume after the reconnect.
 *
 * @module
 */

import { Cluster, Redis } from "ioredis";
import type { ClusterOptions, RedisOptions } from "ioredis";
import type { RedisConfig, TlsConfig } from "../config_types.ts";
import { ConfigError, ConnectionError } from "../errors.ts";

/** A standalone or cluster client. */
export type RedisClient = Redis | Cluster;

/** Where a config connects, without secrets: "redis 127.0.0.1:6379/0". */
export function redisTarget(config: RedisConfig): string {
  if (config.cluster?.length) return `redis cluster ${config.cluster.join(",")}`;
  if (config.url) {
    const url = new URL(config.url);
    const db = Number(url.pathname.slice(1) || 0);
    return `redis ${url.hostname}:${url.port || 6379}/${db}`;
  }
  return `redis ${config.host}:${config.port}/${config.db}`;
}

/** The host:port (or seed node list) an error message names. */
export function redisAddress(config: RedisConfig): string {
  return redisTarget(config).replace(/^redis (cluster )?/, "").replace(/\/\d+$/, "");
}

function pem(value: string | undefined): string | undefined {
  if (value === undefined || value.includes("-----BEGIN")) return value;
  return Deno.readTextFileSync(value);
}

function tlsOptions(tls: boolean | TlsConfig | undefined): RedisOptions["tls"] {
  if (!tls) return undefined;
  if (tls === true) return {};
  return {
    ca: pem(tls.ca),
    cert: pem(tls.cert),
    key: pem(tls.key),
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
  };
}

/** Whether a client should reconnect after a loss: set once the first connect succeeded. */
export interface ReconnectGate {
  /** True after the first successful connect. */
  connected: boolean;
  /** True once close() was called. */
  closed: boolean;
}

function nodeOptions(config: RedisConfig, gate: ReconnectGate, blocking: boolean): RedisOptions {
  return {
    username: config.username,
    password: config.password,
    tls: tlsOptions(config.tls),
    connectTimeout: config.writeTimeoutMs ?? 10_000,
    commandTimeout: blocking ? undefined : config.readTimeoutMs,
    lazyConnect: true,
    // The blocking connection queues its wait until the link is back; the
    // command connection fails fast so callers hear about the outage.
    enableOfflineQueue: blocking,
    maxRetriesPerRequest: blocking ? null : 0,
    retryStrategy: (times) =>
      gate.closed || (!gate.connected && !blocking) ? null : Math.min(times * 50, 1000),
  };
}

function parseNode(node: string): { host: string; port: number } {
  const at = node.lastIndexOf(":");
  const port = Number(node.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port)) {
    throw new ConfigError(`redis.cluster entry ${JSON.stringify(node)} is not "host:port".`);
  }
  return { host: node.slice(0, at), port };
}

/** Builds a client (not yet connected) for the config. */
export function createClient(
  config: RedisConfig,
  gate: ReconnectGate,
  blocking = false,
): RedisClient {
  const options = nodeOptions(config, gate, blocking);
  if (config.cluster?.length) {
    if (config.db) {
      throw new ConfigError(
        "redis.db must be 0 with redis.cluster: Redis Cluster has one database.",
      );
    }
    const clusterOptions: ClusterOptions = {
      redisOptions: { ...nodeOnly(options) },
      lazyConnect: true,
      // The cluster client's first ready check can race its own slot refresh,
      // so it keeps the offline queue and may retry the first connect briefly.
      enableOfflineQueue: true,
      maxRedirections: 16,
      clusterRetryStrategy: (times) => {
        if (gate.closed || (!gate.connected && !blocking && times > 3)) return null;
        return Math.min(times * 100, 1000);
      },
    };
    return new Cluster(config.cluster.map(parseNode), clusterOptions);
  }
  if (config.url) {
    const secure = config.url.startsWith("rediss:");
    return new Redis(config.url, { ...options, tls: options.tls ?? (secure ? {} : undefined) });
  }
  return new Redis({ ...options, host: config.host, port: config.port, db: config.db });
}

/** Connects, or throws one ConnectionError sentence naming host:port. */
export async function connectClient(client: RedisClient, config: RedisConfig): Promise<void> {
  if (client.status === "ready") return;
  const limit = (config.writeTimeoutMs ?? 10_000) + 5_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${limit} ms`)), limit);
      }),
    ]);
  } catch (error) {
    client.disconnect();
    const reason = (error as Error).message || String(error);
    throw new ConnectionError(
      `Cannot connect to Redis at ${
        redisAddress(config)
      } (${reason}); check that it runs and the redis: host, port, password and tls settings.`,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Turns a transport error (connection closed, timeout, not writeable) into a
 * ConnectionError naming host:port; Redis replies (script errors) pass through.
 */
export function wrapError(error: unknown, config: RedisConfig): unknown {
  if (
    !(error instanceof Error) || error.name === "ReplyError" || error instanceof ConnectionError
  ) {
    return error;
  }
  return new ConnectionError(
    `Redis at ${
      redisAddress(config)
    } is unreachable (${error.message}); the driver reconnects by itself, retry shortly.`,
    { cause: error },
  );
}

function nodeOnly(options: RedisOptions): NonNullable<ClusterOptions["redisOptions"]> {
  const { retryStrategy: _retry, enableOfflineQueue: _queue, ...rest } = options;
  return { ...rest, lazyConnect: false };
}
