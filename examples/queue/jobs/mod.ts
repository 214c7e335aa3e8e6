/** Every example job; importing this module registers them all. */
export { ExampleJob } from "./example_job.ts";
export { sendEmail, SendWelcomeEmailJob } from "./send_welcome_email_job.ts";
export { ProcessOrderJob } from "./process_order_job.ts";
