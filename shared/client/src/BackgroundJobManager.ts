/**
 * The seed's IBackgroundJobManager: `enqueue(jobName, args, { priority, delaySeconds })` queues a once job
 * whose type is `jobName` and returns its id. Typed: `enqueue(definition, args, opts)` with a defineJob
 * definition (@taskjet/jobs) checks args at compile time and against its schema before anything is sent;
 * or register an args schema per job name (INVALID_ARGUMENT with field `args.<path>` either way). The delay
 * is one of `delaySeconds` (the seed's), `delayMs` (BullMQ's `delay`) or `runAt` (a Date or ISO time).
 *
 * DST: none applies. Enqueued jobs are once jobs at an absolute instant (now + delay), never cron, so no
 * `dstRule` is set; periodic work goes through BackgroundWorkerManager, which uses the `quartz` rule.
 */
import type { z } from "zod";
import { isDefinedJob, jobInputOf, type ArgsOf, type DefinedJob } from "@taskjet/jobs";
import {
  parseOrThrow,
  printableName,
  ValidationError,
  type JobInput,
  type Priority,
} from "@taskjet/protocol";
import type { JobScheduler } from "./JobScheduler.js";

export interface EnqueueOptions {
  priority?: Priority;
  /** run no earlier than this many seconds from now (the seed's) */
  delaySeconds?: number;
  /** run this many milliseconds after the scheduler accepts it (BullMQ's `delay`) */
  delayMs?: number;
  /** run at this time (now when it has passed) */
  runAt?: Date | string;
  /** a caller-chosen id makes the enqueue idempotent (a second enqueue with it is a no-op) */
  id?: string;
  group?: string;
  /** pin to one node's workers (the seed's dispatcher); default any node */
  nodeName?: string;
  maxTryCount?: number;
  timeoutSeconds?: number;
}

export interface BackgroundJobManagerOptions {
  /** group of enqueued jobs (default `background`) */
  group?: string;
  nodeName?: string;
  /** clock for delays (tests) */
  now?: () => number;
}

export class BackgroundJobManager {
  private readonly schemas = new Map<string, z.ZodType>();
  private readonly now: () => number;

  constructor(
    private readonly scheduler: JobScheduler,
    private readonly options: BackgroundJobManagerOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Registers the args schema of a job name; `enqueue` validates args against it. */
  register(jobName: string, argsSchema: z.ZodType): this {
    parseOrThrow(printableName("jobName"), jobName, "jobName");
    this.schemas.set(jobName, argsSchema);
    return this;
  }

  /** Queues a once job of a definition's type, its args typed by the definition; resolves to its id. */
  enqueue<D extends DefinedJob>(job: D, args: ArgsOf<D>, opts?: EnqueueOptions): Promise<string>;
  /** Queues a once job of type `jobName`; resolves to its id once the job is stored. */
  enqueue(jobName: string, args?: Record<string, unknown>, opts?: EnqueueOptions): Promise<string>;
  async enqueue(
    jobNameOrDef: string | DefinedJob,
    args: Record<string, unknown> = {},
    opts: EnqueueOptions = {},
  ): Promise<string> {
    let base: JobInput;
    if (isDefinedJob(jobNameOrDef)) {
      base = jobInputOf(jobNameOrDef, args);
    } else {
      const jobName = jobNameOrDef;
      parseOrThrow(printableName("jobName"), jobName, "jobName");
      const schema = this.schemas.get(jobName);
      const checkedArgs = schema ? (parseOrThrow(schema, args, "args") as Record<string, unknown>) : args;
      base = { name: jobName, type: jobName, args: checkedArgs };
    }
    if (opts.delaySeconds !== undefined && !(Number.isFinite(opts.delaySeconds) && opts.delaySeconds >= 0)) {
      throw new ValidationError("delaySeconds must be a number of seconds >= 0", { field: "delaySeconds" });
    }
    const delays = (["delaySeconds", "delayMs", "runAt"] as const).filter((k) => opts[k] !== undefined);
    if (delays.length > 1) {
      throw new ValidationError(`give one of delaySeconds, delayMs and runAt: got ${delays.join(" and ")}`, {
        field: delays[1]!,
      });
    }
    const job: JobInput = {
      ...base,
      jobType: "once",
      group: opts.group ?? this.options.group ?? base.group ?? "background",
    };
    if (opts.delayMs !== undefined) job.delayMs = opts.delayMs;
    if (opts.runAt !== undefined) {
      job.runAt = opts.runAt instanceof Date ? isoOrInvalid(opts.runAt) : opts.runAt;
    }
    if (opts.id !== undefined) job.id = opts.id;
    if (opts.priority !== undefined) job.priority = opts.priority;
    const node = opts.nodeName ?? this.options.nodeName;
    if (node !== undefined) job.nodeName = node;
    if (opts.maxTryCount !== undefined) job.maxTryCount = opts.maxTryCount;
    if (opts.timeoutSeconds !== undefined) job.timeoutSeconds = opts.timeoutSeconds;
    if (opts.delaySeconds) job.beginTime = new Date(this.now() + opts.delaySeconds * 1000).toISOString();
    const r = await this.scheduler.queue(job);
    return r.id;
  }
}

/** An invalid Date stays a value the schema refuses naming `runAt`, not a RangeError from toISOString. */
const isoOrInvalid = (d: Date): string => (Number.isNaN(d.getTime()) ? "Invalid Date" : d.toISOString());
