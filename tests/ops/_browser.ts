/** Headless Debian Chromium through playwright-core, or a clear skip when it is absent. */

import { type Browser, chromium } from "playwright-core";
import { requireServices } from "../_services.ts";

/** Debian's Chromium; never a downloaded build. */
export const CHROMIUM = "/usr/bin/chromium";

/** The flags our machines need. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** True when Chromium is installed; otherwise warns (or fails in CI mode) and returns false. */
export function chromiumAvailable(): boolean {
  try {
    Deno.statSync(CHROMIUM);
    return true;
  } catch {
    const reason = `${CHROMIUM} is absent (apt-get install chromium chromium-driver)`;
    if (requireServices) {
      Deno.test(`Chromium is installed (QUEUE_TEST_REQUIRE_SERVICES=1)`, () => {
        throw new Error(reason);
      });
    } else {
      console.warn(`SKIPPED: dashboard browser tests: ${reason}.`);
    }
    return false;
  }
}

/** Launches headless Chromium. */
export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}
