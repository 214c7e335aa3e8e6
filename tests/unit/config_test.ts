import assert from "node:assert/strict";
import { ConfigError, defaultConfig, fromSeedConfig, loadConfig, parseConfig } from "../../mod.ts";

/** The seed's own `configs/config.yaml` block, verbatim. */
const SEED_YAML = `
queue:
  driver: "redis"
  queue: "default"
  worker:
    sleep: 3
    max_jobs: 0
    max_time: 0
    rest: 0
    memory: 128
    tries: 3
    timeout: 60
  queues:
    default:
      priority: 1
      processes: 1
      timeout: 60
      tries: 3
      retry_after: 60
      backoff: [60, 300, 900]
    high:
      priority: 2
      processes: 2
      timeout: 30
      tries: 5
      retry_after: 30
      backoff: [30, 60, 180]
    low:
      priority: 0
      processes: 1
      timeout: 120
      tries: 2
      retry_after: 120
      backoff: [120, 300, 600]
redis:
  host: "localhost"
  port: 6379
  password: ""
  db: 0
  max_idle_conns: 10
  max_open_conns: 100
  read_timeout: 3s
  write_timeout: 3s
mysql:
  host: "localhost"
  port: 3306
  username: "root"
  password: "password"
  database: "go_admin"
`;

const fails = (yaml: string, pattern: RegExp) =>
  assert.throws(() => parseConfig(yaml, "configs/test.yaml"), (error: Error) => {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    assert.match(error.message, pattern);
    return true;
  });

Deno.test("the seed's config loads: seconds become ms, durations parse, priorities kept", () => {
  const config = parseConfig(SEED_YAML, "configs/config.yaml");
  assert.equal(config.driver, "redis");
  assert.equal(config.worker.sleepMs, 3000);
  assert.equal(config.worker.memoryMb, 128);
  assert.deepEqual(config.queues.high, {
    priority: 2,
    processes: 2,
    timeoutMs: 30_000,
    tries: 5,
    retryAfterMs: 30_000,
    backoffMs: [30_000, 60_000, 180_000],
  });
  assert.equal(config.queues.low.priority, 0);
  assert.equal(config.redis.readTimeoutMs, 3000);
  assert.equal(config.redis.maxOpenConns, 100);
  assert.equal(config.mysql.database, "go_admin");
});

Deno.test("timeout >= retry_after is a warning naming the queue, never a refusal", () => {
  const config = parseConfig(SEED_YAML, "configs/config.yaml");
  assert.equal(config.warnings.length, 3);
  assert.match(config.warnings[0], /queue "default" has timeout \(60s\) >= retry_after \(60s\)/);
});

Deno.test("the seed's performance section keys are accepted", () => {
  const config = parseConfig(
    "queue:\n  worker:\n    processes: 4\n    sleep: 1\n    memory: 512\n",
    "perf.yaml",
  );
  assert.equal(config.worker.processes, 4);
  assert.equal(config.worker.sleepMs, 1000);
});

Deno.test("Go duration strings and plain seconds both work", () => {
  const config = parseConfig(
    'queue:\n  worker:\n    sleep: "500ms"\n    max_time: "1m30s"\n    timeout: "2"\n',
    "d.yaml",
  );
  assert.equal(config.worker.sleepMs, 500);
  assert.equal(config.worker.maxTimeMs, 90_000);
  assert.equal(config.worker.timeoutMs, 2000);
});

Deno.test("${VAR} and ${VAR:-default} come from the environment", () => {
  const yaml = 'mysql:\n  password: "${DB_PASS}"\n  host: "${DB_HOST:-db.internal}"\n';
  const config = parseConfig(yaml, "p.yaml", { DB_PASS: "s3cret" });
  assert.equal(config.mysql.password, "s3cret");
  assert.equal(config.mysql.host, "db.internal");
  assert.throws(
    () => parseConfig(yaml, "p.yaml", {}),
    /p\.yaml: the environment variable DB_PASS is not set/,
  );
});

Deno.test("environment overrides the driver and credentials", async () => {
  const config = await loadConfig(undefined, {
    env: { QUEUE_DRIVER: "memory", QUEUE_REDIS_PASSWORD: "pw", QUEUE_SQLITE_PATH: "/tmp/x.db" },
  });
  assert.equal(config.driver, "memory");
  assert.equal(config.redis.password, "pw");
  assert.equal(config.sqlite.path, "/tmp/x.db");
});

Deno.test("QUEUE_HTTP_TOKEN sets http.token only when there is an http block", () => {
  const env = { QUEUE_HTTP_TOKEN: "t0ken" };
  const withHttp = parseConfig('http:\n  listen: "127.0.0.1:0"\n', "h.yaml", env);
  assert.equal(withHttp.http?.token, "t0ken");
  assert.equal(parseConfig("queue:\n  driver: memory\n", "n.yaml", env).http, undefined);
});

Deno.test("an unknown key is refused naming file, key and the closest known key", () => {
  fails(
    "queue:\n  worker:\n    slep: 3\n",
    /configs\/test\.yaml: queue\.worker\.slep is not a known key \(did you mean "sleep"\?\)/,
  );
  fails(
    "queu:\n  driver: redis\n",
    /configs\/test\.yaml: queu is not a known key \(did you mean "queue"\?\)/,
  );
});

Deno.test("a wrong type is refused naming the key and the value", () => {
  fails("queue:\n  worker:\n    sleep: soon\n", /queue\.worker\.sleep must be seconds.*"soon"/);
  fails("redis:\n  port: 99999\n", /redis\.port must be a whole number from 1 to 65535/);
  fails(
    'queue:\n  driver: "kafka"\n',
    /queue\.driver must be one of redis, database, sqlite, memory \(got "kafka"\)/,
  );
  fails("queue:\n  queues:\n    default: 3\n", /queue\.queues\.default must be a mapping/);
});

Deno.test("an invalid queue name is refused before it reaches a key or SQL", () => {
  fails(
    "queue:\n  queues:\n    'bad name; DROP': {}\n",
    /queue\.queues\.bad name; DROP is not a valid queue name/,
  );
});

Deno.test("bad YAML and a missing file give one sentence naming the file", async () => {
  fails("queue: [unclosed\n", /configs\/test\.yaml: the YAML is not valid/);
  await assert.rejects(
    loadConfig("configs/nope.yaml", { env: {} }),
    /Config file configs\/nope\.yaml cannot be read: does not exist/,
  );
});

Deno.test("no config file means the embedded SQLite default with the seed's queues", () => {
  const config = defaultConfig();
  assert.equal(config.driver, "sqlite");
  assert.equal(config.sqlite.path, "./storage/queue.db");
  assert.deepEqual(Object.keys(config.queues).sort(), ["default", "high", "low"]);
});

Deno.test("the seed's Manager config shape maps the connection URL", () => {
  const config = fromSeedConfig({
    driver: "redis",
    options: { connection: "redis://localhost:6379/0", queue: "default" },
  });
  assert.equal(config.driver, "redis");
  assert.equal(config.redis.url, "redis://localhost:6379/0");
  assert.equal(config.defaultQueue, "default");
});

Deno.test("every YAML file in configs/ loads", async () => {
  for await (const entry of Deno.readDir("configs")) {
    if (!entry.name.endsWith(".yaml")) continue;
    const config = await loadConfig(`configs/${entry.name}`, { env: {} });
    assert.ok(config.queues.default || Object.keys(config.queues).length > 0, entry.name);
  }
});
