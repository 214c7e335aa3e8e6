/**
 * `-watch`: reloads the config file when it changes. A config with errors is
 * reported and the running workers keep going.
 *
 * @module
 */

import { loadConfig } from "./config.ts";
import type { QueueConfig } from "./config_types.ts";
import type { Logger } from "./log.ts";

/**
 * Watches `path` (through its directory, since editors replace files) and
 * calls `onChange` with each new valid config, after `debounceMs` of quiet.
 * Returns a function that stops watching.
 */
export function watchConfig(
  path: string,
  logger: Logger,
  onChange: (config: QueueConfig) => Promise<void>,
  debounceMs = 300,
): () => void {
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  const dir = slash >= 0 ? path.slice(0, slash) || "/" : ".";
  const name = path.slice(slash + 1);
  const watcher = Deno.watchFs(dir, { recursive: false });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last = "";
  let busy: Promise<void> = Promise.resolve();
  const reload = async (): Promise<void> => {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch {
      return; // Mid-replace; the next event brings the file back.
    }
    if (text === last) return;
    last = text;
    try {
      const config = await loadConfig(path);
      await onChange(config);
    } catch (error) {
      logger.error(
        `config ${path} has errors; the running workers keep going: ${(error as Error).message}`,
      );
    }
  };
  Deno.readTextFile(path).then((text) => last = text).catch(() => {});
  (async () => {
    try {
      for await (const event of watcher) {
        if (!event.paths.some((p) => p.endsWith(name))) continue;
        clearTimeout(timer);
        timer = setTimeout(() => {
          busy = busy.then(reload);
        }, debounceMs);
      }
    } catch {
      // Closed.
    }
  })();
  logger.debug(`watching ${path} for changes`);
  return () => {
    clearTimeout(timer);
    try {
      watcher.close();
    } catch {
      // Already closed.
    }
  };
}
