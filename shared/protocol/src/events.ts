/**
 * Job events (the seed's IJobEventTrigger), published on `<p>.evt.<tenant>.<group>.<type>.<jobId>.<phase>`
 * in the CloudEvents NATS binding (binary mode): attributes in `ce-*` headers, data as JSON.
 * Run log entries go to the run-log stream, dead letters to the dead-letter stream.
 */
import { z } from "zod";
import type { EventPhase } from "./subjects.js";

export const CE_SPECVERSION = "1.0";
export const eventType = (phase: EventPhase) => `io.taskjet.job.${phase}`;

/** CloudEvents attributes as NATS headers (CloudEvents NATS protocol binding). */
export interface CloudEventHeaders {
  "ce-specversion": string;
  "ce-id": string;
  "ce-type": string;
  "ce-source": string;
  "ce-subject": string;
  "ce-time": string;
  "Content-Type": string;
}

/**
 * How a run went, as its job event and its run-log entry both report it: the worker (or, for a skipped fire,
 * the scheduler) fills both from the same values of the same run, so both schemas take these fields from here.
 */
export const runReportFields = {
  durationMs: z.number().optional(),
  result: z.unknown().optional(),
  error: z.string().optional(),
  /** for `skipped`: which policy skipped the fire */
  reason: z.string().optional(),
  worker: z.string().optional(),
  node: z.string().optional(),
};

/** The seed's event data, one shape for every phase. */
export const JobEventDataSchema = z.object({
  key: z.string(),
  fireId: z.string(),
  type: z.string(),
  name: z.string(),
  group: z.string(),
  tenantId: z.string(),
  args: z.record(z.string(), z.unknown()),
  status: z.string(),
  phase: z.string(),
  nominalTime: z.string(),
  attempt: z.number(),
  /** the seed's Triggered: how many times the job has fired */
  triggered: z.number(),
  /** the seed's RepeatCount (maxCount; 0 = unlimited) */
  repeatCount: z.number(),
  runTime: z.string().optional(),
  lastRunTime: z.string().optional(),
  nextRunTime: z.string().optional(),
  ...runReportFields,
  /** for `progress`: what the handler reported (ctx.progress), a number or an object */
  progress: z
    .union([z.number(), z.record(z.string(), z.unknown())])
    .optional()
    .describe("progress events only: what the handler reported, a number or an object"),
});
export type JobEventData = z.output<typeof JobEventDataSchema>;

/** One decoded event: CloudEvents attributes from the `ce-*` headers and the checked data (the client's
 * JobEvents yield it, the gateway's /v1/events/stream sends it as JSON). */
export interface JobEvent {
  /** CloudEvents `id` */
  id: string;
  /** CloudEvents `type`, e.g. `io.taskjet.job.after` */
  type: string;
  source: string;
  /** CloudEvents `subject` */
  ceSubject: string;
  time: string;
  phase: EventPhase;
  tenant: string;
  group: string;
  jobType: string;
  jobId: string;
  /** the NATS subject it arrived on */
  subject: string;
  data: JobEventData;
}

export const runOutcomes = [
  "started",
  "succeeded",
  "failed",
  "aborted",
  "timedOut",
  "skipped",
  "deadLettered",
] as const;
export type RunOutcome = (typeof runOutcomes)[number];

/** One run attempt in the run log (the seed's BackgroundJobLog). Subject `<p>.log.<tenant>.<jobId>`. */
export interface RunLogEntry {
  fireId: string;
  jobId: string;
  tenantId: string;
  group: string;
  type: string;
  name: string;
  attempt: number;
  nominalTime: string;
  outcome: RunOutcome;
  startedAt?: string;
  finishedAt: string;
  durationMs?: number;
  result?: unknown;
  error?: string;
  /** for skipped fires: the policy that skipped it */
  reason?: string;
  worker?: string;
  node?: string;
}

/** A dead letter: a fire given up on, or a message that could not be decoded. Subject `<p>.dlq.<tenant>.<jobId>`. */
export interface DeadLetter {
  reason: "poison" | "abandoned";
  error: string;
  /** the dispatch subject the message arrived on */
  subject: string;
  at: string;
  fire?: unknown;
  /** the raw payload, base64, when it could not be decoded */
  rawBase64?: string;
}
