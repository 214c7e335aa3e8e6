/**
 * The operations HTTP server: the dashboard page, its JSON API and the
 * Prometheus `/metrics`, on one `Deno.serve` listener (the `http:` block).
 *
 * Safety rules:
 * - It listens on 127.0.0.1:8080 unless `http.listen` says otherwise; on any
 *   non-loopback address it refuses to start without a token.
 * - Without a token it is read-only: every action answers 403.
 * - Actions are POST requests that need the token (`X-Queue-Token: <token>`
 *   or `Authorization: Bearer <token>`) and pass a same-origin check
 *   (`Sec-Fetch-Site` must be `same-origin` and `Origin` must match, when the
 *   browser sends them).
 * - On loopback, the `Host` header must name a loopback host (DNS rebinding).
 * - Pages and responses show the driver's password-free `target` only.
 *
 * @module
 */

import type { HttpConfig } from "../config_types.ts";
import { ConfigError } from "../errors.ts";
import { errorResponse, failedPage, json, overview, runAction } from "./dashboard_api.ts";
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from "./dashboard_page.ts";
import { PROMETHEUS_CONTENT_TYPE, prometheusText } from "./prometheus.ts";
import { DEFAULT_ALIVE_MS, type OpsSource } from "./snapshot.ts";

/** The environment variable read for the token when `http.token` is not set. */
export const TOKEN_ENV = "QUEUE_HTTP_TOKEN";

/** Options of {@link startOpsServer}. */
export interface OpsServerOptions {
  /** The token; default `http.token`, then the `QUEUE_HTTP_TOKEN` environment variable. */
  token?: string;
  /** Alive window for workers in ms (default 15000). */
  aliveMs?: number;
  /** Receives one line when the server listens and one per refused action. */
  logger?: { info(message: string): void; warn(message: string): void };
}

/** A running operations server. */
export interface OpsServer {
  /** The bound address (the real port when `:0` was asked for). */
  readonly hostname: string;
  /** The bound port. */
  readonly port: number;
  /** The base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** True when no token is configured and every action is refused. */
  readonly readOnly: boolean;
  /** Stops listening and waits for open requests. */
  close(): Promise<void>;
}

/** Splits "host:port", "[::1]:port" or ":port" (all interfaces) into parts. */
export function parseListen(listen: string): { hostname: string; port: number } {
  const match = listen.trim().match(/^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/);
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new ConfigError(
      `http.listen must be "host:port" such as "127.0.0.1:8080" (got "${listen}").`,
    );
  }
  return { hostname: match[1] ?? (match[2] || "0.0.0.0"), port };
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
};

function asset(body: string, type: string): Response {
  return new Response(body, { headers: { "content-type": type, ...SECURITY_HEADERS } });
}

async function sameToken(given: string, expected: string): Promise<boolean> {
  const digest = async (text: string) =>
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Why an action request is refused, or null when it may run. */
async function refusal(request: Request, token: string | undefined): Promise<Response | null> {
  if (!token) {
    return json(
      { error: "The dashboard is read-only: set http.token (or QUEUE_HTTP_TOKEN)." },
      403,
    );
  }
  const site = request.headers.get("sec-fetch-site");
  const origin = request.headers.get("origin");
  if (
    (site !== null && site !== "same-origin") ||
    (origin !== null && origin !== new URL(request.url).origin)
  ) {
    return json({ error: "Cross-origin actions are refused." }, 403);
  }
  const header = request.headers.get("x-queue-token") ??
    request.headers.get("authorization")?.replace(/^Bearer\s+/i, "") ?? "";
  if (!header || !(await sameToken(header, token))) {
    return json({ error: "A valid token is required for actions (X-Queue-Token header)." }, 401);
  }
  return null;
}

function hostAllowed(request: Request, loopbackOnly: boolean): boolean {
  if (!loopbackOnly) return true;
  const host = new URL(request.url).hostname;
  return isLoopback(host);
}

function handler(
  source: OpsSource,
  settings: {
    token?: string;
    aliveMs: number;
    loopbackOnly: boolean;
    logger?: OpsServerOptions["logger"];
  },
): (request: Request) => Promise<Response> {
  return async (request) => {
    if (!hostAllowed(request, settings.loopbackOnly)) return json({ error: "Unknown host." }, 421);
    const path = new URL(request.url).pathname;
    try {
      if (request.method === "GET" || request.method === "HEAD") {
        switch (path) {
          case "/":
            return asset(DASHBOARD_HTML, "text/html; charset=utf-8");
          case "/assets/dashboard.css":
            return asset(DASHBOARD_CSS, "text/css; charset=utf-8");
          case "/assets/dashboard.js":
            return asset(DASHBOARD_JS, "text/javascript; charset=utf-8");
          case "/metrics":
            return new Response(await prometheusText(source, { aliveMs: settings.aliveMs }), {
              headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" },
            });
          case "/api/overview":
            return json(await overview(source, settings.aliveMs, !settings.token));
          case "/api/failed":
            return json(await failedPage(source, new URL(request.url).searchParams));
        }
        return json({ error: "Not found." }, 404);
      }
      if (request.method !== "POST" || !path.startsWith("/api/")) {
        return json({ error: "Method not allowed." }, 405);
      }
      const refused = await refusal(request, settings.token);
      if (refused) {
        settings.logger?.warn(`Refused dashboard action ${path} (HTTP ${refused.status})`);
        return refused;
      }
      return (await runAction(source, path)) ?? json({ error: "Not found." }, 404);
    } catch (error) {
      return errorResponse(error);
    }
  };
}

/**
 * Starts the dashboard, its JSON API and `/metrics` on `http.listen`.
 * Throws {@link ConfigError} for a bad address, or for a non-loopback address
 * without a token.
 *
 * @example
 * ```ts ignore
 * const server = await startOpsServer(manager, { listen: "127.0.0.1:8080" });
 * console.log(`Dashboard on ${server.url}`);
 * await server.close();
 * ```
 */
export async function startOpsServer(
  source: OpsSource,
  http: HttpConfig,
  options: OpsServerOptions = {},
): Promise<OpsServer> {
  const { hostname, port } = parseListen(http.listen);
  const token = options.token ?? http.token ?? (Deno.env.get(TOKEN_ENV) || undefined);
  const loopbackOnly = isLoopback(hostname);
  if (!loopbackOnly && !token) {
    throw new ConfigError(
      `http.listen is ${http.listen}, which is not a loopback address: set a token (http.token: \${${TOKEN_ENV}} or the ${TOKEN_ENV} environment variable) or listen on 127.0.0.1.`,
    );
  }
  const aliveMs = options.aliveMs ?? DEFAULT_ALIVE_MS;
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve(
    { hostname, port, onListen: (addr) => resolve(addr as Deno.NetAddr) },
    handler(source, { token, aliveMs, loopbackOnly, logger: options.logger }),
  );
  const addr = await listening;
  const shown = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const url = `http://${shown}:${addr.port}`;
  options.logger?.info(`Dashboard and /metrics on ${url}${token ? "" : " (read-only: no token)"}`);
  return {
    hostname: addr.hostname,
    port: addr.port,
    url,
    readOnly: !token,
    close: () => server.shutdown(),
  };
}
