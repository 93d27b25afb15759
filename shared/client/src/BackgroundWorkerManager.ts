/**
 * The seed's IBackgroundWorkerManager: `add(worker)` makes a periodic worker a stored job and registers its
 * `doWork` with a worker runtime. A number period is a persistent job (`intervalSeconds`), a string period a
 * cron (period) job.
 *
 * Idempotent by worker name: the job id is derived from the name (`backgroundWorkerId`), so every process
 * start queues the same id and the scheduler's queue is a no-op after the first (the seed stored a new row
 * at every start). A changed period updates the stored schedule instead.
 *
 * DST: a Quartz period (the seed's habit: its users' strings are Quartz.NET's) gets `dstRule: "quartz"`, so it
 * fires exactly where Quartz fired it at spring gaps and fall overlaps, the promise of running Quartz strings
 * as written; a standard (5-field) period keeps taskjet's default `single-value` rule, since Quartz's rule
 * is only defined for Quartz's grammar. `worker.dstRule` overrides either.
 */
import { createHash } from "node:crypto";
import {
  FailedPreconditionError,
  ValidationError,
  type CronDialect,
  type DstRule,
  type JobInput,
  type JobPatch,
  type JobView,
} from "@taskjet/protocol";
import type { JobScheduler } from "./JobScheduler.js";

export interface BackgroundWorker<Ctx = unknown> {
  /** unique per application; the job id is derived from it */
  name: string;
  /** seconds between runs (persistent job), or a cron expression (period job) */
  period: number | string;
  doWork(ctx: Ctx): unknown;
  /** for cron periods: IANA zone (default UTC) */
  timeZone?: string;
  /** for cron periods: default `standard` for 5 fields, else `quartz` */
  cronDialect?: CronDialect;
  /** for cron periods: default `quartz` (as Quartz) for the quartz dialect, `single-value` for standard */
  dstRule?: DstRule;
  description?: string;
}

/** What a worker runtime must offer: register a handler for a job type. */
export interface HandlerRuntime<Ctx = unknown> {
  register(type: string, handler: (ctx: Ctx) => Promise<unknown>): unknown;
}

export interface BackgroundWorkerManagerOptions {
  /** group of the workers' jobs (default `background-workers`) */
  group?: string;
  /** pin the jobs to one node; default any node that registered the handler */
  nodeName?: string;
}

export interface AddResult {
  id: string;
  created: boolean;
  /** the stored schedule differed and was updated */
  updated: boolean;
  job: JobView;
}

/** The job id (and job type) of a background worker: `bgw-<slug>-<hash>`, stable across processes. */
export function backgroundWorkerId(name: string): string {
  const slug = name
    .replace(/[^A-Za-z0-9_-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40);
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 12);
  return slug ? `bgw-${slug}-${hash}` : `bgw-${hash}`;
}

export class BackgroundWorkerManager<Ctx = unknown> {
  private readonly registered = new Set<string>();

  constructor(
    private readonly scheduler: JobScheduler,
    private readonly runtime?: HandlerRuntime<Ctx>,
    private readonly options: BackgroundWorkerManagerOptions = {},
  ) {}

  async add(worker: BackgroundWorker<Ctx>): Promise<AddResult> {
    if (typeof worker.name !== "string" || worker.name.trim() === "") {
      throw new ValidationError("name must be a non-empty string", { field: "name" });
    }
    if (typeof worker.doWork !== "function") {
      throw new ValidationError("doWork must be a function", { field: "doWork" });
    }
    const id = backgroundWorkerId(worker.name);
    const job = this.jobOf(id, worker);
    if (this.runtime && !this.registered.has(id)) {
      this.runtime.register(id, async (ctx) => worker.doWork(ctx));
      this.registered.add(id);
    }
    const r = await this.scheduler.queue(job);
    if (r.created) return { id, created: true, updated: false, job: r.job };
    if (r.job.jobType !== job.jobType) {
      throw new FailedPreconditionError(
        `background worker "${worker.name}" is stored as a ${r.job.jobType} job and its period now makes it ` +
          `a ${job.jobType ?? "once"} job: stop and remove job ${id} first`,
        { field: "period" },
      );
    }
    const patch = scheduleChanges(r.job, job);
    if (!patch) return { id, created: false, updated: false, job: r.job };
    const updated = await this.scheduler.update(id, patch);
    return { id, created: false, updated: true, job: updated };
  }

  private jobOf(id: string, w: BackgroundWorker<Ctx>): JobInput {
    const job: JobInput = {
      id,
      name: w.name.slice(0, 200),
      type: id,
      group: this.options.group ?? "background-workers",
      // a periodic worker does not stack runs: a fire due while the last run goes on is skipped
      overlapPolicy: "skip",
    };
    if (this.options.nodeName !== undefined) job.nodeName = this.options.nodeName;
    if (w.description !== undefined) job.description = w.description;
    if (typeof w.period === "number") {
      if (!Number.isFinite(w.period) || w.period <= 0) {
        throw new ValidationError("period must be a number of seconds > 0 or a cron expression", {
          field: "period",
        });
      }
      job.jobType = "persistent";
      job.intervalSeconds = w.period;
    } else if (typeof w.period === "string") {
      job.jobType = "period";
      job.cron = w.period;
      job.cronDialect = w.cronDialect ?? (w.period.trim().split(/\s+/).length === 5 ? "standard" : "quartz");
      job.dstRule = w.dstRule ?? (job.cronDialect === "quartz" ? "quartz" : "single-value");
      job.timeZone = w.timeZone ?? "UTC";
    } else {
      throw new ValidationError("period must be a number of seconds or a cron expression", {
        field: "period",
      });
    }
    return job;
  }
}

function scheduleChanges(stored: JobView, wanted: JobInput): JobPatch | undefined {
  const patch: JobPatch = {};
  if (wanted.jobType === "persistent" && stored.intervalSeconds !== wanted.intervalSeconds) {
    patch.intervalSeconds = wanted.intervalSeconds;
  }
  if (wanted.jobType === "period") {
    if (stored.cron !== wanted.cron) patch.cron = wanted.cron;
    if (stored.cronDialect !== wanted.cronDialect) patch.cronDialect = wanted.cronDialect;
    if (stored.dstRule !== wanted.dstRule) patch.dstRule = wanted.dstRule;
    if (stored.timeZone !== wanted.timeZone) patch.timeZone = wanted.timeZone;
  }
  if (wanted.description !== undefined && stored.description !== wanted.description) {
    patch.description = wanted.description;
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}
