/** The seed's ExampleJob: prints its message. */
import { BaseJob, type JobContext, registerJob } from "../../../mod.ts";

/** Prints a message (the seed's basic job structure). */
export class ExampleJob extends BaseJob {
  /** The message to print. */
  message = "";

  /** Processes the message. */
  handle(context: JobContext): void {
    console.log(
      `Processing message: ${this.message} (job ${context.jobId}, attempt ${context.attempt})`,
    );
  }
}
registerJob(ExampleJob);
