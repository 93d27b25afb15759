/**
 * The seed's IBackgroundJobManager: `enqueue(jobName, args, { priority, delaySeconds })` queues a once job
 * whose type is `jobName` and returns its id. Register an args schema per job name and args are checked
 * before anything is sent (INVALID_ARGUMENT with field `args.<path>`).
 *
 * DST: none applies. Enqueued jobs are once jobs at an absolute instant (now + delay), never cron, so no
 * `dstRule` is set; periodic work goes through BackgroundWorkerManager, which uses the `quartz` rule.
 */
import type { z } from "zod";
import { parseOrThrow, token, ValidationError, type JobInput, type Priority } from "@taskjet/protocol";
import type { JobScheduler } from "./JobScheduler.js";

export interface EnqueueOptions {
  priority?: Priority;
  /** run no earlier than this many seconds from now */
  delaySeconds?: number;
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
    parseOrThrow(token("jobName"), jobName, "jobName");
    this.schemas.set(jobName, argsSchema);
    return this;
  }

  /** Queues a once job of type `jobName`; resolves to its id once the job is stored. */
  async enqueue(
    jobName: string,
    args: Record<string, unknown> = {},
    opts: EnqueueOptions = {},
  ): Promise<string> {
    parseOrThrow(token("jobName"), jobName, "jobName");
    const schema = this.schemas.get(jobName);
    const checkedArgs = schema ? (parseOrThrow(schema, args, "args") as Record<string, unknown>) : args;
    if (opts.delaySeconds !== undefined && !(Number.isFinite(opts.delaySeconds) && opts.delaySeconds >= 0)) {
      throw new ValidationError("delaySeconds must be a number of seconds >= 0", { field: "delaySeconds" });
    }
    const job: JobInput = {
      name: jobName,
      type: jobName,
      jobType: "once",
      args: checkedArgs,
      group: opts.group ?? this.options.group ?? "background",
    };
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
