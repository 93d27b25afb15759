/**
 * The job: what a caller may send (JobInput), what the system resolves it to (JobDefinition) and what the
 * system owns (JobState). A stored JobRecord is `{ def, state, rev? }`.
 *
 * Seed parity: Id, Name, Group, Type, Args, Status, JobType, Cron, Interval, BeginTime, EndTime, TryCount,
 * MaxTryCount (50), MaxCount, TriggerCount, LockTimeOut, Priority, NodeName, TenantId, Source, Result,
 * IsAbandoned, LastRunTime, NextRunTime. Times are ISO 8601 strings on the wire and in the store.
 */
import { z } from "zod";
import { compileCron, cronDialects, dstRules, isValidTimeZone } from "./cron.js";
import { ValidationError } from "./errors.js";
import { MAX_ARGS_DEPTH, pathDeeperThan, shortPath } from "./limits.js";
import { printableName } from "./names.js";
import { parseOrThrow } from "./validate.js";

/**
 * A subject-token-safe name: ids, tenants and node names appear in subjects and keys as they are. (Job types
 * and groups are printable names carried by their encoded token: names.ts.)
 */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]+$/;
export const token = (what: string, max = 64) =>
  z
    .string({ error: `${what} must be a string` })
    .min(1, `${what} must not be empty`)
    .max(max, `${what} must be at most ${max} characters`)
    .regex(TOKEN_PATTERN, `${what} may contain only letters, digits, "_" and "-"`);

export const jobTypes = ["once", "period", "persistent"] as const;
export type JobType = (typeof jobTypes)[number];

/** The seed's JobStatus. */
export const jobStatuses = [
  "none",
  "queuing",
  "running",
  "failedRetry",
  "paused",
  "stopped",
  "completed",
] as const;
export type JobStatus = (typeof jobStatuses)[number];

/** The seed's five priorities, lowest first. On the wire the name; in dispatch subjects `p1`..`p5`. */
export const priorities = ["low", "belowNormal", "normal", "aboveNormal", "high"] as const;
export type Priority = (typeof priorities)[number];
export const priorityLevel = (p: Priority): number => priorities.indexOf(p) + 1;

/** What to do with fires missed while no leader ran (restart, takeover) or while paused. */
export const misfirePolicies = ["fireOnce", "skip", "fireAll"] as const;
export type MisfirePolicy = (typeof misfirePolicies)[number];

/** What to do with a fire that is due while the previous run of the job is still going. */
export const overlapPolicies = ["allow", "skip", "bufferOne", "replace"] as const;
export type OverlapPolicy = (typeof overlapPolicies)[number];

export const sources = ["user", "system"] as const;

/** Default bound on `fireAll` catch-up: fires older than this are recorded as skipped. */
export const DEFAULT_CATCH_UP_WINDOW_SECONDS = 3600;
export const DEFAULT_MAX_TRY_COUNT = 50;
/** the longest delayMs: ten years */
export const MAX_DELAY_MS = 10 * 365 * 86_400_000;

const isoTime = (what: string) =>
  z.union(
    [
      z.iso.datetime({ offset: true, error: `${what} must be an ISO 8601 date-time with a zone` }),
      z
        .number({ error: `${what} must be an ISO 8601 date-time or epoch milliseconds` })
        .int()
        .nonnegative()
        .transform((ms) => new Date(ms).toISOString()),
    ],
    { error: `${what} must be an ISO 8601 date-time (e.g. 2026-01-31T12:00:00Z) or epoch milliseconds` },
  );

const count = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .nonnegative(`${what} must not be negative`);

export const actionTriggers = ["failed", "succeeded", "completed"] as const;
export type ActionTrigger = (typeof actionTriggers)[number];

/** A job action (the seed's JobAction): runs after a run, never fails the job. */
export const JobActionSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    id: token("action id").optional(),
    kind: z.literal("webhook"),
    on: z.array(z.enum(actionTriggers)).min(1),
    url: z.url({ protocol: /^https?$/, error: "url must be an http(s) URL" }),
    headers: z.record(z.string(), z.string()).optional(),
  }),
  z.strictObject({
    id: token("action id").optional(),
    kind: z.literal("publish"),
    on: z.array(z.enum(actionTriggers)).min(1),
    subject: z.string().regex(/^[^\s*>]+$/, "subject must be a NATS subject without wildcards"),
  }),
]);
export type JobAction = z.output<typeof JobActionSchema>;

/**
 * What happens to a job once it finished (BullMQ's removeOnComplete / removeOnFail): `true` removes it at
 * once, `false` keeps it, `{ ageSeconds, count }` keeps it while it is younger than ageSeconds and among the
 * newest `count` finished jobs of its tenant and type (either bound may be left out).
 */
export const RetentionSchema = z.union(
  [
    z.boolean(),
    z.strictObject({
      ageSeconds: z
        .number({ error: "ageSeconds must be a number" })
        .int("ageSeconds must be a whole number")
        .positive("ageSeconds must be greater than 0")
        .optional(),
      count: count("count").optional(),
    }),
  ],
  { error: "must be true, false or { ageSeconds?, count? }" },
);
export type Retention = z.output<typeof RetentionSchema>;

const baseFields = {
  id: token("id", 128).optional(),
  name: z.string({ error: "name is required" }).min(1, "name must not be empty").max(200),
  group: printableName("group").default("default"),
  type: printableName("type"),
  args: z
    .record(z.string(), z.unknown(), { error: "args must be an object" })
    .superRefine((args, ctx) => {
      // iterative: args thousands of levels deep would overflow the stack of the encoder downstream
      const path = pathDeeperThan(args, MAX_ARGS_DEPTH);
      if (path) {
        ctx.addIssue({
          code: "custom",
          message: `args nest deeper than ${MAX_ARGS_DEPTH} levels (at ${shortPath(path, "args")})`,
        });
      }
    })
    .default({}),
  jobType: z.enum(jobTypes, { error: `jobType must be one of ${jobTypes.join(", ")}` }).default("once"),
  cron: z.string().max(200).optional(),
  cronDialect: z.enum(cronDialects).default("quartz"),
  timeZone: z.string().default("UTC"),
  dstRule: z.enum(dstRules).default("single-value"),
  // the floor (1 s unless the operator lowers it, limits.ts) is the scheduler's: it depends on its config
  intervalSeconds: z
    .number({ error: "intervalSeconds must be a number" })
    .positive("intervalSeconds must be greater than 0")
    .max(10 * 365 * 86400)
    .optional(),
  /** once jobs: run this many milliseconds after acceptance (BullMQ's `delay`); becomes beginTime */
  delayMs: z
    .number({ error: "delayMs must be a number of milliseconds" })
    .int("delayMs must be a whole number of milliseconds")
    .nonnegative("delayMs must not be negative")
    .max(MAX_DELAY_MS, `delayMs must be at most ${MAX_DELAY_MS} (10 years)`)
    .optional(),
  /** once jobs: run at this time (now when it has passed); becomes beginTime */
  runAt: isoTime("runAt").optional(),
  beginTime: isoTime("beginTime").optional(),
  endTime: isoTime("endTime").optional(),
  maxTryCount: count("maxTryCount").default(DEFAULT_MAX_TRY_COUNT),
  maxCount: count("maxCount").default(0),
  lockTimeoutSeconds: count("lockTimeoutSeconds").default(0),
  timeoutSeconds: count("timeoutSeconds").default(0),
  priority: z
    .enum(priorities, { error: `priority must be one of ${priorities.join(", ")}` })
    .default("normal"),
  nodeName: token("nodeName").optional(),
  tenantId: token("tenantId").default("default"),
  source: z.enum(sources).default("user"),
  description: z.string().max(2000).optional(),
  misfirePolicy: z.enum(misfirePolicies).default("fireOnce"),
  catchUpWindowSeconds: z
    .number()
    .int()
    .positive()
    .max(7 * 86400)
    .default(DEFAULT_CATCH_UP_WINDOW_SECONDS),
  overlapPolicy: z.enum(overlapPolicies).default("allow"),
  actions: z.array(JobActionSchema).max(20).default([]),
  /** a once job that succeeded, a recurring one that reached its end; unset: the scheduler's default */
  removeOnComplete: RetentionSchema.optional(),
  /** a job abandoned after its last try; unset: the scheduler's default */
  removeOnFail: RetentionSchema.optional(),
};

/** Cross-field rules: they run only when every field parsed, so messages stay about one field each. */
function checkJob(job: z.output<z.ZodObject<typeof baseFields>>, ctx: z.RefinementCtx): void {
  if (job.jobType === "period") {
    if (!job.cron || job.cron.trim() === "") {
      ctx.addIssue({ code: "custom", path: ["cron"], message: "cron is required for a period job" });
    }
  } else if (job.cron !== undefined) {
    ctx.addIssue({ code: "custom", path: ["cron"], message: `cron is only allowed for a period job` });
  }
  checkStart(job, ctx);
  if (job.jobType === "persistent" && job.intervalSeconds === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["intervalSeconds"],
      message: "intervalSeconds is required for a persistent job",
    });
  }
  if (!isValidTimeZone(job.timeZone)) {
    ctx.addIssue({
      code: "custom",
      path: ["timeZone"],
      message: `unknown time zone "${job.timeZone}": use an IANA name such as Europe/Berlin`,
    });
  } else if (job.jobType === "period" && job.cron) {
    try {
      compileCron({
        expression: job.cron,
        dialect: job.cronDialect,
        timeZone: job.timeZone,
        dstRule: job.dstRule,
      });
    } catch (err) {
      // `dstRule: "quartz"` with the standard dialect is the rule's fault, not the expression's
      const field = err instanceof ValidationError && err.field === "dstRule" ? "dstRule" : "cron";
      ctx.addIssue({ code: "custom", path: [field], message: (err as Error).message });
    }
  }
  if (job.beginTime && job.endTime && Date.parse(job.endTime) <= Date.parse(job.beginTime)) {
    ctx.addIssue({ code: "custom", path: ["endTime"], message: "endTime must be after beginTime" });
  }
}

/** A once job's start: one of intervalSeconds (seconds), delayMs (BullMQ's delay) or runAt (a time). */
function checkStart(job: z.output<z.ZodObject<typeof baseFields>>, ctx: z.RefinementCtx): void {
  const given = (["intervalSeconds", "delayMs", "runAt"] as const).filter((k) => job[k] !== undefined);
  for (const k of given.filter((k) => k !== "intervalSeconds")) {
    if (job.jobType !== "once") {
      ctx.addIssue({
        code: "custom",
        path: [k],
        message: `${k} is only for a once job: a ${job.jobType} job starts at beginTime`,
      });
    } else if (job.beginTime !== undefined) {
      ctx.addIssue({ code: "custom", path: [k], message: `give ${k} or beginTime, not both` });
    }
  }
  if (job.jobType === "once" && given.length > 1) {
    ctx.addIssue({
      code: "custom",
      path: [given[1]!],
      message: `a once job takes one of intervalSeconds, delayMs and runAt: got ${given.join(" and ")}`,
    });
  }
}

/** What a caller may send to queue a job. Unknown fields are rejected (a typo must not pass silently). */
export const JobInputSchema = z.strictObject(baseFields).superRefine(checkJob);
export type JobInput = z.input<typeof JobInputSchema>;

/** A job definition after defaults; `id` always set; delayMs and runAt resolved into beginTime. */
export type JobDefinition = Omit<z.output<typeof JobInputSchema>, "id" | "delayMs" | "runAt"> & {
  id: string;
};

/** Fields a caller may change on an existing job (`update`); identity and job type stay. */
export const JobPatchSchema = z.strictObject(
  Object.fromEntries(
    Object.entries(baseFields)
      .filter(([k]) => !["id", "tenantId", "group", "jobType", "delayMs", "runAt"].includes(k))
      // a patch names only what changes: defaults must not fill in the rest
      .map(([k, f]) => [k, (f instanceof z.ZodDefault ? f.unwrap() : f).optional()]),
  ) as unknown as { [K in PatchKey]: z.ZodOptional<Unwrapped<(typeof baseFields)[K]>> },
);
type PatchKey = Exclude<
  keyof typeof baseFields,
  "id" | "tenantId" | "group" | "jobType" | "delayMs" | "runAt"
>;
type Unwrapped<T> = T extends z.ZodDefault<infer I> ? I : T extends z.ZodOptional<infer I> ? I : T;
export type JobPatch = z.input<typeof JobPatchSchema>;

export const RunInfoSchema = z.object({
  fireId: z.string(),
  nominalTime: z.string(),
  worker: z.string(),
  node: z.string(),
  startedAt: z.string(),
  attempt: z.number().int(),
});
export type RunInfo = z.output<typeof RunInfoSchema>;

/** What the system owns. Callers never write these fields. */
export const JobStateSchema = z.object({
  status: z.enum(jobStatuses),
  triggerCount: z.number().int().nonnegative(),
  tryCount: z.number().int().nonnegative(),
  isAbandoned: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
  lastRunTime: z.string().optional(),
  nextRunTime: z.string().optional(),
  /** nominal time of the last fire dispatched (the scheduler's cursor for this job) */
  lastFireTime: z.string().optional(),
  /** persisted backoff: the next retry is not before this time (the seed lost it on restart) */
  retryAt: z.string().optional(),
  result: z.unknown().optional(),
  lastError: z.string().optional(),
  skippedCount: z.number().int().nonnegative().default(0),
  running: z.array(RunInfoSchema).default([]),
  /** a fire held back by overlapPolicy bufferOne, dispatched when the running one ends */
  buffered: z.string().optional(),
  /**
   * the runs that finished (succeeded or failed), newest last, at most DONE_RUNS_KEPT: each a run key
   * (fire.ts runKeyOf). A fire whose key is here already ran: a redelivery after a lost ack, or a fire
   * stored twice, is acked without running again.
   */
  doneRuns: z.array(z.string()).optional(),
  /**
   * the W3C trace context of the job's `queue` (written by the scheduler when tracing is on): its fires'
   * spans descend from it (a once job) or link to it (a recurring job)
   */
  trace: z
    .object({ traceparent: z.string().max(256), tracestate: z.string().max(512).optional() })
    .optional(),
});
export type JobState = z.output<typeof JobStateSchema>;

export interface JobRecord {
  def: JobDefinition;
  state: JobState;
}

/** A job as read from the store, with the KV revision every write must compare against. */
export interface StoredJob extends JobRecord {
  revision: number;
}

/** Parses a job input at the edge; throws ValidationError naming the field. `root` prefixes paths. */
export function parseJobInput(input: unknown, root?: string): z.output<typeof JobInputSchema> {
  return parseOrThrow(JobInputSchema, input, root);
}

/**
 * A parsed job with its delayMs or runAt turned into beginTime, counted from `nowMs` (acceptance): the
 * store and the scheduler know one start field. A runAt that has passed starts now.
 */
export function resolveStart<J extends { delayMs?: number; runAt?: string; beginTime?: string }>(
  job: J,
  nowMs: number,
): Omit<J, "delayMs" | "runAt"> {
  const { delayMs, runAt, ...rest } = job;
  if (delayMs !== undefined) return { ...rest, beginTime: new Date(nowMs + delayMs).toISOString() };
  if (runAt !== undefined)
    return { ...rest, beginTime: new Date(Math.max(nowMs, Date.parse(runAt))).toISOString() };
  return rest;
}

/** The initial state of a freshly queued job. */
export function initialState(nowIso: string): JobState {
  return {
    status: "queuing",
    triggerCount: 0,
    tryCount: 0,
    isAbandoned: false,
    createdAt: nowIso,
    updatedAt: nowIso,
    skippedCount: 0,
    running: [],
  };
}

/**
 * Who counts a job's fires (triggerCount, lastFireTime). The scheduler writes them per fire for finite jobs
 * (maxCount > 0) and jobs whose runs it tracks (overlap policy or lock); for every other job (once jobs and
 * unlimited recurring jobs) it keeps only its global fire cursor, and the worker counts each scheduled fire
 * in its end-of-run write, so a once job costs one store write per run instead of two that race. Both apply
 * a fire only when its nominal time is newer than lastFireTime.
 */
export function schedulerCountsFires(
  def: Pick<JobDefinition, "jobType" | "maxCount" | "overlapPolicy" | "lockTimeoutSeconds">,
): boolean {
  return def.maxCount > 0 || def.overlapPolicy !== "allow" || def.lockTimeoutSeconds > 0;
}

/** Statuses in which the scheduler fires the job. */
export const ACTIVE_STATUSES: ReadonlySet<JobStatus> = new Set(["none", "queuing", "running", "failedRetry"]);
/** Statuses that end a job's schedule. */
export const FINAL_STATUSES: ReadonlySet<JobStatus> = new Set(["completed", "stopped"]);
