/**
 * The seed's best practices: an idempotent job that keeps only an id in its
 * payload, tells retryable errors from permanent ones, and logs its duration.
 */
import { BaseJob, type JobContext, registerJob, UnrecoverableError } from "../../../mod.ts";

/** Orders already processed; a real job would check its database. */
const processed = new Set<number>();
/** How many times the payment gateway has been flaky, per order (for the demo). */
const gatewayHiccups = new Map<number, number>();

/** Processes an order by id, safely re-runnable. */
export class ProcessOrderJob extends BaseJob {
  /** The order to process (an id, never the whole order). */
  orderId = 0;
  /** For the demo: the gateway fails this many times before it answers. */
  flakyTimes = 0;

  /** Processes the order once, whatever the number of deliveries. */
  handle(context: JobContext): void {
    const started = performance.now();
    try {
      if (processed.has(this.orderId)) return; // idempotent: a second delivery does nothing
      if (this.orderId <= 0) throw new UnrecoverableError(`Order id ${this.orderId} is invalid.`);
      const hiccups = gatewayHiccups.get(this.orderId) ?? 0;
      if (hiccups < this.flakyTimes) {
        gatewayHiccups.set(this.orderId, hiccups + 1);
        throw new Error(`Payment gateway timed out for order ${this.orderId}`); // retryable
      }
      processed.add(this.orderId);
      console.log(`Order ${this.orderId} processed on attempt ${context.attempt}`);
    } finally {
      console.log(`Job ${context.jobId} took ${(performance.now() - started).toFixed(1)} ms`);
    }
  }
}
registerJob(ProcessOrderJob);
