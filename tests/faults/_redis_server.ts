/**
 * A redis-server of the test's own on a free port, with an append-only file
 * fsynced on every write (as tests/drivers/redis_faults_test.ts starts it), so
 * a test can stop and restart it without touching the shared server.
 *
 * @module
 */

import { freePort, serviceUp, sleep, waitUntil } from "../_services.ts";

/** True when the `redis-server` binary is on PATH (else the tests skip, or fail in CI). */
export const redisServerAvailable: boolean = await serviceUp(
  "redis-server binary",
  () => new Deno.Command("redis-server", { args: ["--version"] }).output(),
);

/** A redis-server process the test owns: its port, data dir and lifecycle. */
export class OwnRedis {
  /** The port it listens on (127.0.0.1). */
  readonly port: number = freePort();
  #process: Deno.ChildProcess | undefined;

  /** Prepares a server whose append-only file lives in `dir`. */
  constructor(readonly dir: string) {}

  /** Starts the server and waits until it answers PING (10 s at most). */
  async start(): Promise<void> {
    this.#process = new Deno.Command("redis-server", {
      args: [
        ...["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir],
        ...["--save", "", "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no"],
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitUntil(() => this.ping(), 10_000, `redis-server on port ${this.port}`);
  }

  /** Stops it with SIGTERM (it writes its AOF and exits) and waits for the exit (10 s at most). */
  async stop(): Promise<void> {
    const process = this.#process;
    if (!process) return;
    this.#process = undefined;
    process.kill("SIGTERM");
    await Promise.race([
      process.status,
      sleep(10_000).then(() => {
        process.kill("SIGKILL");
        throw new Error(`redis-server on port ${this.port} ignored SIGTERM for 10 s`);
      }),
    ]);
  }

  /** Kills it (test clean-up); never throws. */
  async kill(): Promise<void> {
    const process = this.#process;
    this.#process = undefined;
    try {
      process?.kill("SIGKILL");
      await process?.status;
    } catch {
      // Already gone.
    }
  }

  /** True when it answers PING. */
  async ping(): Promise<boolean> {
    const out = await new Deno.Command("redis-cli", {
      args: ["-p", String(this.port), "ping"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return new TextDecoder().decode(out.stdout).includes("PONG");
  }
}
