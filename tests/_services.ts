/**
 * Test helpers for suites that need a real server. A suite whose server is down
 * is skipped with a clear message, except when QUEUE_TEST_REQUIRE_SERVICES=1
 * (CI), where it fails instead.
 */

/** True when CI demands every service-backed suite to run. */
export const requireServices = Deno.env.get("QUEUE_TEST_REQUIRE_SERVICES") === "1";

/**
 * Probes a service. Returns true when it answers. When it does not, registers a
 * failing test in CI mode, or prints why the suite is skipped otherwise.
 */
export async function serviceUp(name: string, probe: () => Promise<unknown>): Promise<boolean> {
  try {
    await probe();
    return true;
  } catch (error) {
    const reason = `${name} is not reachable (${(error as Error).message})`;
    if (requireServices) {
      Deno.test(`${name} is reachable (QUEUE_TEST_REQUIRE_SERVICES=1)`, () => {
        throw new Error(reason);
      });
    } else {
      console.warn(`SKIPPED: ${reason}; set it up to run these tests.`);
    }
    return false;
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Polls `check` until it returns true or `timeoutMs` passes; throws on timeout. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    }
    await sleep(10);
  }
}
