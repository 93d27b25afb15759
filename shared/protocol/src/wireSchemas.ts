/**
 * zod schemas of the wire payloads that the code types as interfaces only (replies, run log, dead letters,
 * interrupts, scheduler status), so that every payload has a JSON Schema generated from one source
 * (contract.ts, docs/schemas, docs/asyncapi.yaml). The code keeps its interfaces; the `Same` checks at the
 * bottom fail the build when a schema and its interface drift apart.
 */
import { z } from "zod";
import { ErrorCode, type ErrorBody } from "./errors.js";
import { runOutcomes, runReportFields, type DeadLetter, type RunLogEntry } from "./events.js";
import { JobInputSchema, JobStateSchema, token } from "./job.js";
import type { ReplicaInfo, SchedulerStatus, WorkerInfo } from "./api.js";

const time = z.string().describe("ISO 8601 date-time in UTC, e.g. 2026-01-01T00:00:00.000Z");

export const ErrorBodySchema = z.object({
  code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
  field: z.string().optional().describe("dotted path of the first offending input field"),
  retryable: z.boolean(),
  details: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("INVALID_ARGUMENT: always issues: [{ field, message }]"),
});

/** The reply envelope; `data` is the operation's reply (its own schema). */
export const ReplyEnvelopeSchema = z.union([
  z.object({ ok: z.literal(true), data: z.unknown() }),
  z.object({ ok: z.literal(false), error: ErrorBodySchema }),
]);

/** A stored job's definition: JobInput with its defaults filled in and the id always set. */
export const JobDefinitionSchema = z.object({ ...JobInputSchema.shape, id: token("id", 128) });
export const JobRecordSchema = z.object({ def: JobDefinitionSchema, state: JobStateSchema });
export const JobViewSchema = z.object({
  ...JobDefinitionSchema.shape,
  ...JobStateSchema.shape,
  revision: z.number().int().positive().describe("the job's store revision"),
});

export const RunLogEntrySchema = z.object({
  fireId: z.string(),
  jobId: z.string(),
  tenantId: z.string(),
  group: z.string(),
  type: z.string(),
  name: z.string(),
  attempt: z.number().int(),
  nominalTime: time,
  outcome: z.enum(runOutcomes),
  startedAt: time.optional(),
  finishedAt: time,
  ...runReportFields,
});

export const DeadLetterSchema = z.object({
  reason: z.enum(["poison", "abandoned"]),
  error: z.string(),
  subject: z.string().describe("the run subject the fire came on"),
  at: time,
  fire: z.unknown().optional(),
  rawBase64: z.string().optional(),
});

export const interruptReasons = ["replaced", "paused", "stopped", "removed"] as const;
/** `<p>.ctl.<node>`: stop runs of a job; fireId `*` = every run of it. */
export const InterruptSchema = z.object({
  jobId: z.string(),
  tenantId: z.string(),
  fireId: z.string(),
  reason: z.enum(interruptReasons),
});

/**
 * `<p>.ctl._held` (core request/reply among workers): does a worker hold this redelivered fire? Only the
 * holder answers (worker-runtime heldFires.ts).
 */
export const HeldQuerySchema = z.strictObject({
  fireId: z.string().min(1).max(1024),
  attempt: z.number().int().min(1),
  /** the job's key in the job store */
  key: z.string().min(1).max(1024),
});
/** `running`: its run or outcome write is under way there; `finished`: it ran, its outcome is the holder's to write. */
export const HeldAnswerSchema = z.strictObject({
  state: z.enum(["running", "finished"]),
  worker: z.string(),
});

export const QueueResultSchema = z.object({ id: z.string(), created: z.boolean(), job: JobViewSchema });
export const QueueManyResultSchema = z.object({
  results: z.array(z.object({ id: z.string(), created: z.boolean() })),
});
export const ExistsResultSchema = z.object({ exists: z.boolean() });
export const JobResultSchema = z.object({ job: JobViewSchema });
export const ListResultSchema = z.object({
  jobs: z.array(JobViewSchema),
  total: z.number().int(),
  nextOffset: z.number().int().optional(),
  omitted: z.array(z.string()).optional(),
});
export const BulkResultSchema = z.object({
  results: z.array(z.object({ id: z.string(), ok: z.boolean(), error: ErrorBodySchema.optional() })),
});
export const LogsResultSchema = z.object({
  entries: z.array(RunLogEntrySchema),
  nextOffset: z.number().int().optional(),
});

export const ReplicaInfoSchema = z.object({
  replicaId: z.string(),
  host: z.string(),
  pid: z.number().int(),
  role: z.enum(["leader", "follower", "standby"]),
  startedAt: time,
});
export const WorkerInfoSchema = z.object({
  workerId: z.string(),
  node: z.string(),
  host: z.string(),
  pid: z.number().int(),
  types: z.array(z.string()),
  concurrency: z.number().int(),
  running: z.number().int(),
  seenAt: time,
});
export const SchedulerStatusSchema = z.object({
  leader: ReplicaInfoSchema.extend({ epoch: z.number().int(), since: time })
    .optional()
    .describe("absent while no replica leads: nothing fires"),
  replicas: z.array(ReplicaInfoSchema),
  workers: z.array(WorkerInfoSchema),
  jobs: z.object({ total: z.number().int(), active: z.number().int() }),
  backlog: z
    .array(
      z.object({
        node: z.string().describe("a node name, or _any for jobs without one"),
        type: z.string().describe("the job type as written"),
        messages: z.number().int().describe("fires stored on the run stream and not yet acked"),
      }),
    )
    .describe("the run stream's backlog per node and job type: a type no worker runs shows here"),
});
export const RoleChangeResultSchema = z.object({
  replicaId: z.string(),
  role: z.enum(["standby", "follower"]),
});
export const ShutdownResultSchema = z.object({ replicaId: z.string(), stopping: z.literal(true) });
/** The body of a `<p>.sys.scheduler.*` request: empty, or `{}`. */
export const EmptyRequestSchema = z.strictObject({});

// Compile-time checks: each schema's output and the interface the code uses are the same type.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const same = <T extends true>(): T | undefined => undefined;
same<Same<z.output<typeof ErrorBodySchema>, ErrorBody>>();
same<Same<z.output<typeof RunLogEntrySchema>, RunLogEntry>>();
same<Same<z.output<typeof DeadLetterSchema>, DeadLetter>>();
same<Same<z.output<typeof ReplicaInfoSchema>, ReplicaInfo>>();
same<Same<z.output<typeof WorkerInfoSchema>, WorkerInfo>>();
same<Same<z.output<typeof SchedulerStatusSchema>, SchedulerStatus>>();
