/**
 * A small TCP proxy of the tests' own, to cut and restore a connection to a
 * server (Redis, MariaDB) without touching the server: "pass" forwards,
 * "drop" closes every connection and refuses new ones, "hang" stops forwarding
 * (bytes wait, as in a partition, and flow again when restored), "slow" delays
 * every chunk, "blackhole" freezes every open connection for good (neither
 * forwarded nor closed, as a half-open socket behind a firewall that lost its
 * state): connections opened after it is lifted pass again.
 *
 * @module
 */

/** What the proxy does with traffic. */
export type ProxyMode = "pass" | "drop" | "hang" | "slow" | "blackhole";

/** A running proxy on 127.0.0.1. */
export class FaultProxy {
  /** The port clients connect to. */
  readonly port: number;
  /** Milliseconds each chunk waits in "slow" mode. */
  slowMs = 200;
  #mode: ProxyMode = "pass";
  #listener: Deno.Listener;
  #conns = new Set<Deno.Conn>();
  #frozen = new Set<Deno.Conn>();
  #accepting: Promise<void>;
  #closed = false;

  /** Starts forwarding 127.0.0.1:<free port> to `target`. */
  constructor(readonly target: { host: string; port: number }) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#accepting = this.#accept();
  }

  /** The current mode. */
  get mode(): ProxyMode {
    return this.#mode;
  }

  /** Switches mode; "drop" closes every open connection at once. */
  set(mode: ProxyMode): void {
    this.#mode = mode;
    if (mode === "drop") { for (const conn of [...this.#conns]) this.#close(conn); }
    if (mode === "blackhole") { for (const conn of this.#conns) this.#frozen.add(conn); }
  }

  async #accept(): Promise<void> {
    for await (const client of this.#listener) {
      if (this.#closed) {
        client.close();
        return;
      }
      if (this.#mode === "drop") {
        client.close();
        continue;
      }
      this.#connect(client).catch(() => this.#close(client));
    }
  }

  async #connect(client: Deno.Conn): Promise<void> {
    this.#conns.add(client);
    if (this.#mode === "blackhole") this.#frozen.add(client);
    const server = await Deno.connect({ hostname: this.target.host, port: this.target.port });
    this.#conns.add(server);
    const end = () => {
      this.#close(client);
      this.#close(server);
    };
    this.#pump(client, server).finally(end);
    this.#pump(server, client).finally(end);
  }

  async #pump(from: Deno.Conn, to: Deno.Conn): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    while (true) {
      const read = await from.read(buffer).catch(() => null);
      if (read === null) return;
      const chunk = buffer.slice(0, read);
      while (this.#mode === "hang" || this.#frozen.has(from) || this.#frozen.has(to)) {
        if (this.#closed) return;
        await sleep(10);
      }
      if (this.#mode === "slow") await sleep(this.slowMs);
      if (this.#mode === "drop") return;
      let written = 0;
      while (written < chunk.length) {
        const n = await to.write(chunk.subarray(written)).catch(() => -1);
        if (n < 0) return;
        written += n;
      }
    }
  }

  #close(conn: Deno.Conn): void {
    this.#frozen.delete(conn);
    if (!this.#conns.delete(conn)) return;
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }

  /** Closes the listener and every connection. */
  close(): void {
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    for (const conn of [...this.#conns]) this.#close(conn);
    this.#accepting.catch(() => {});
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
