/**
 * The operations side of the queue service: the dashboard and `/metrics`
 * server when the config has an `http:` block, and the alert monitor when it
 * has an `alerts:` block. Both read the service's Manager and log through its
 * Logger.
 *
 * @module
 */

import type { QueueConfig } from "./config_types.ts";
import type { Logger } from "./log.ts";
import type { Manager } from "./manager.ts";
import { AlertMonitor } from "./ops/alerts.ts";
import { type OpsServer, startOpsServer } from "./ops/dashboard.ts";

/** The running operations services of a queue service; `stop()` ends them all. */
export interface ServiceOps {
  /** The dashboard server, when the config has an `http:` block. */
  readonly server: OpsServer | null;
  /** The alert monitor, when the config has an `alerts:` block. */
  readonly monitor: AlertMonitor | null;
  /** Closes the server and stops the monitor (waiting for an evaluation in progress). */
  stop(): Promise<void>;
}

/**
 * Starts what `config.http` and `config.alerts` ask for. Throws (and starts
 * nothing) when the server cannot listen, e.g. a non-loopback address
 * without a token or a port in use.
 */
export async function startServiceOps(
  manager: Manager,
  config: QueueConfig,
  logger: Logger,
): Promise<ServiceOps> {
  const server = config.http ? await startOpsServer(manager, config.http, { logger }) : null;
  let monitor: AlertMonitor | null = null;
  if (config.alerts) {
    monitor = new AlertMonitor(manager, config.alerts, { logger });
    monitor.start();
    logger.info(
      `alert monitor: ${config.alerts.rules.length} rules every ${
        config.alerts.intervalMs / 1000
      } s`,
    );
  }
  return {
    server,
    monitor,
    async stop(): Promise<void> {
      await Promise.all([
        monitor?.stop(),
        server?.close().catch((error) =>
          logger.warn(`dashboard server did not close cleanly: ${(error as Error).message}`)
        ),
      ]);
    },
  };
}
