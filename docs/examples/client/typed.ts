// A job type declared once and shared: the producer's args are checked at compile time, the worker's handler
// receives them parsed, and once the worker has started bad args are refused when a job is accepted: by the
// SDK itself for a job it publishes on the fast lane, by the scheduler for one it queues.
import { z } from "zod";
import { TaskjetClient, defineJob } from "@taskjet/client";
import { createWorker } from "@taskjet/worker-runtime";
import { ValidationError } from "@taskjet/protocol";

// in a module both sides import (jobs.ts); @taskjet/jobs exports defineJob too
export const sendEmail = defineJob(
  "email.send", // any printable name: dots, colons, spaces (docs/protocol.md#names-of-job-types-and-groups)
  z.object({ to: z.email(), subject: z.string(), cc: z.array(z.email()).default([]) }),
  { group: "mail", priority: "high", maxTryCount: 5 }, // defaults of every job queued with it
);

// the worker: `args` is { to: string; subject: string; cc: string[] }, parsed by the definition's schema
const worker = createWorker({ node: "mailer-1" });
worker.register(sendEmail, async ({ args }) => ({ sentTo: args.to, copies: args.cc.length }));
await worker.start(); // from here the type and its args schema (as JSON Schema) are in the registry

// the producer
const client = await TaskjetClient.connect();
const { id, job } = await client.scheduler.queue(sendEmail, { to: "ann@example.com", subject: "hi" });
console.log(id, job.group, job.priority); // <id> mail high
// client.scheduler.queue(sendEmail, { to: 42 }) does not compile: 'number' is not assignable to 'string',
// and 'subject' is missing. Options override the definition's defaults, one call at a time:
await client.scheduler.queue(sendEmail, { to: "bob@example.com", subject: "later" }, { delayMs: 60_000 });

// a producer without the types (REST, `taskjet queue`, a `queue` request) is checked when the job is accepted
try {
  await client.scheduler.queue({ name: "raw", type: "email.send", args: { to: "nope", subject: "x" } });
} catch (err) {
  if (!(err instanceof ValidationError)) throw err;
  console.log(err.code, err.field); // INVALID_ARGUMENT args.to
}
// a type no worker has registered yet is accepted, with a warning (and a metric)
const orphan = await client.scheduler.queue({ name: "later", type: "reports.monthly", args: {} });
console.log(orphan.warnings); // [ 'no worker has registered type "reports.monthly" yet: ...' ]

await worker.stop();
await client.close();
