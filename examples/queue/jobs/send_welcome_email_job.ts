/** The seed's SendWelcomeEmailJob. */
import { BaseJob, type JobContext, registerJob } from "../../../mod.ts";

/** Stands in for a mail client; a real one would talk SMTP or an HTTP API. */
export async function sendEmail(
  email: string,
  name: string,
  subject: string,
  signal: AbortSignal,
): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 20));
  signal.throwIfAborted();
  console.log(`Sent "${subject}" to ${name} <${email}>`);
}

/** Sends a welcome email. */
export class SendWelcomeEmailJob extends BaseJob {
  /** Recipient address. */
  email = "";
  /** Recipient name. */
  name = "";
  /** Subject line. */
  subject = "";

  /** Sends the email; the signal aborts it at the job's timeout. */
  async handle(context: JobContext): Promise<void> {
    await sendEmail(this.email, this.name, this.subject, context.signal);
  }
}
registerJob(SendWelcomeEmailJob);
