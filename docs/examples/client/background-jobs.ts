import { z } from "zod";
import { BackgroundJobManager, TaskjetClient, defineJob } from "@taskjet/client";

const client = await TaskjetClient.connect();
const jobs = new BackgroundJobManager(client.scheduler, { group: "background" });

// typed: a definition (defineJob) checks the args at compile time and against its schema
const sendEmail = defineJob("send-email", z.strictObject({ to: z.email(), subject: z.string() }));
const id = await jobs.enqueue(
  sendEmail,
  { to: "ann@example.com", subject: "hi" },
  {
    priority: "high", // low | belowNormal | normal | aboveNormal | high
    delayMs: 60_000, // or delaySeconds: 60 (the seed's), or runAt: a Date
  },
);
console.log(id);

// the seed's form: a job name, with a schema registered for it (or none: args unchecked here)
jobs.register("resize", z.strictObject({ file: z.string() }));
await jobs.enqueue("resize", { file: "a.png" }, { delaySeconds: 60 });
// args that fail the schema: ValidationError with field "args.<field>"; nothing is sent
await client.close();
