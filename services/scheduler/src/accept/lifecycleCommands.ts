/**
 * The control API's lifecycle operations (the seed's Trigger, Pause, Resume, Remove, Start, Stop), each on
 * one job or in bulk through a Selector ({id} | {ids} | {filter}); the reply lists every id with its own
 * ok/error. Interrupts go to each job's own node: the node of each recorded run, else the job's nodeName,
 * else `_all` (the seed sent bulk operations to one node only).
 *
 *   trigger  publish a fire now (reason "trigger", nominal = now); the store is not changed
 *   pause    active -> paused, interrupt the running run; the leader records how far it had fired
 *   resume   paused -> queuing (failedRetry when a retry was pending); missed fires go through misfirePolicy
 *   stop     -> stopped, interrupt
 *   start    stopped/paused -> queuing, tryCount 0, isAbandoned false; the schedule restarts from now (the
 *            stopped period is not replayed); a once job that had fired already is fired again now
 *   remove   pause, interrupt, delete the key (compare-and-set). Only a job whose schedule has ended
 *            (stopped or completed) unless the selector says `force: true`; else FAILED_PRECONDITION
 *            naming `status`. The rule lives here so the SDK, the CLI and REST all behave alike.
 *
 * `{ all: true }` selects every job of the tenant; an empty filter is refused by the Selector schema, so a
 * forgotten filter never acts on everything.
 */
import type { JobStore } from "@taskjet/nats";
import {
  ACTIVE_STATUSES,
  ConflictError,
  FailedPreconditionError,
  FINAL_STATUSES,
  fastRecordOf,
  NotFoundError,
  parseOrThrow,
  SelectorSchema,
  toTaskjetError,
  ValidationError,
  type BulkResult,
  type JobState,
  type StoredJob,
} from "@taskjet/protocol";
import type { Clock } from "../plan/clock.js";
import type { Dispatcher, InterruptReason } from "../fire/dispatcher.js";
import { firstNominal, type JobCommands } from "./jobCommands.js";
import type { JobIndex } from "../view/jobIndex.js";
import type { QueuedJob } from "./queuedJobs.js";

export const lifecycleOps = ["trigger", "pause", "resume", "remove", "start", "stop"] as const;
export type LifecycleOp = (typeof lifecycleOps)[number];

export interface LifecycleDeps {
  store: JobStore;
  index: JobIndex;
  jobs: JobCommands;
  dispatcher: Dispatcher;
  clock: Clock;
  apiTimeoutMs: number;
  /** the current leader's epoch (for fires this replica publishes itself) */
  leaderEpoch: () => Promise<number>;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class LifecycleCommands {
  constructor(private readonly d: LifecycleDeps) {}

  async run(op: LifecycleOp, tenant: string, body: unknown): Promise<BulkResult> {
    const sel = parseOrThrow(SelectorSchema, body);
    if (sel.force !== undefined && op !== "remove") {
      throw new ValidationError(`force applies to remove only, not to ${op}`, { field: "force" });
    }
    const force = sel.force === true;
    let ids: string[];
    if (sel.id !== undefined) ids = [sel.id];
    else if (sel.ids !== undefined) ids = [...new Set(sel.ids)];
    else {
      await this.d.index.catchUp(this.d.apiTimeoutMs);
      ids = this.d.index.list(tenant, sel.all ? {} : (sel.filter ?? {})).map((e) => e.id);
    }
    const results: BulkResult["results"] = [];
    for (let i = 0; i < ids.length; i += 128) {
      const chunk = ids.slice(i, i + 128);
      results.push(
        ...(await Promise.all(
          chunk.map(async (id) => {
            try {
              await this.one(op, tenant, id, force);
              return { id, ok: true };
            } catch (err) {
              return { id, ok: false, error: toTaskjetError(err).toBody() };
            }
          }),
        )),
      );
    }
    return { results };
  }

  private async one(op: LifecycleOp, tenant: string, id: string, force: boolean): Promise<void> {
    let key: string;
    try {
      key = await this.d.jobs.keyOf(tenant, id);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      const queued = await this.d.jobs.queuedJob(tenant, id);
      if (!queued) throw err;
      return this.queuedOp(op, queued, force);
    }
    switch (op) {
      case "trigger":
        return this.trigger(await this.d.jobs.read(tenant, id));
      case "pause":
        return this.interrupt(await this.setStatus(key, pauseState), "paused");
      case "stop":
        return this.interrupt(await this.setStatus(key, stopState), "stopped");
      case "resume":
        await this.setStatus(key, resumeState);
        return;
      case "start":
        return this.start(key);
      case "remove":
        return this.remove(key, force);
    }
  }

  /**
   * A fast-lane job waiting in the run stream: only `remove` applies (with force, like any job whose
   * schedule has not ended): its message is deleted, and an interrupt stops a run a worker may have started
   * meanwhile (that run is acked without writing anything). A run that finished before the delete is not
   * undone: the job was not waiting any more.
   */
  private async queuedOp(op: LifecycleOp, q: QueuedJob, force: boolean): Promise<void> {
    const id = q.def.id;
    if (op !== "remove") {
      throw new FailedPreconditionError(
        `job "${id}" waits on the fast lane: until it runs it can be read and removed, not ${op}`,
        { field: "id", details: { status: "queuing" } },
      );
    }
    if (!force) {
      throw new FailedPreconditionError(
        `job ${id} is queuing: stop it before removing it, or remove with force ` +
          "(CLI --force, REST ?force=true, SDK remove(target, { force: true }))",
        { field: "status", details: { status: "queuing" } },
      );
    }
    const deleted = await this.d.jobs.removeQueued(q);
    this.d.dispatcher.interruptJob(fastRecordOf(q.def, q.acceptedMs), "removed");
    if (!deleted) {
      throw new NotFoundError(`job "${id}" is not waiting any more: it ran or was removed`, { field: "id" });
    }
  }

  private async trigger(job: StoredJob, reason: "trigger" = "trigger"): Promise<void> {
    const now = this.d.clock.now();
    const entry = this.d.index.get(this.keyFor(job));
    const next = entry && Number.isFinite(entry.due) && !entry.dueIsRetry ? entry.due : undefined;
    await this.d.dispatcher.publishNow(
      job,
      job.revision,
      { nominalMs: now, reason, attempt: 1, last: job.def.jobType === "once", nextNominalMs: next },
      await this.d.leaderEpoch(),
    );
  }

  private keyFor(job: StoredJob): string {
    return `${job.def.tenantId}.${job.def.group}.${job.def.id}`;
  }

  /**
   * Interrupts all of the job as it was before the change, whether anything runs or not: an untracked run may
   * be going, and workers drop their copy of the job on it, so a fire still in the stream is not run from
   * that copy (docs/worker.md, "Job copies").
   */
  private interrupt(change: { before: StoredJob; after: StoredJob }, reason: InterruptReason): void {
    this.d.dispatcher.interruptJob(change.before, reason);
  }

  private async setStatus(
    key: string,
    next: (s: JobState, now: string) => Partial<JobState> | undefined,
  ): Promise<{ before: StoredJob; after: StoredJob }> {
    let before: StoredJob | undefined;
    const after = await this.d.store.mutate(key, (cur) => {
      before = cur;
      const change = next(cur.state, iso(this.d.clock.now()));
      return change ? { def: cur.def, state: { ...cur.state, ...change } } : undefined;
    });
    return { before: before ?? after, after };
  }

  private async start(key: string): Promise<void> {
    let refire = false;
    const job = await this.d.store.mutate(key, (cur) => {
      const s = cur.state;
      if (s.status === "completed") {
        throw new FailedPreconditionError(
          `job "${cur.def.id}" is completed: queue a new job to run it again`,
          {
            field: "id",
          },
        );
      }
      if (ACTIVE_STATUSES.has(s.status)) return undefined;
      const now = this.d.clock.now();
      const state: JobState = {
        ...s,
        status: "queuing",
        tryCount: 0,
        isAbandoned: false,
        updatedAt: iso(now),
      };
      delete state.retryAt;
      const last = s.lastFireTime ? Date.parse(s.lastFireTime) : Number.NEGATIVE_INFINITY;
      refire = cur.def.jobType === "once" && s.lastFireTime !== undefined;
      // the schedule restarts from now: the stopped period is not replayed as misfires
      const next = firstNominal(
        cur.def,
        Date.parse(s.createdAt),
        cur.def.jobType === "once" ? last : Math.max(now, last),
      );
      if (next !== undefined) state.nextRunTime = iso(next);
      else delete state.nextRunTime;
      return { def: cur.def, state };
    });
    if (refire) await this.trigger(job);
  }

  private async remove(key: string, force: boolean): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const change = await this.setStatus(key, (s, now) => {
        if (!force && !FINAL_STATUSES.has(s.status)) {
          throw new FailedPreconditionError(
            `job ${key.split(".").pop()} is ${s.status}: stop it before removing it, or remove with force ` +
              "(CLI --force, REST ?force=true, SDK remove(target, { force: true }))",
            { field: "status", details: { status: s.status } },
          );
        }
        return s.status === "paused" ? undefined : { status: "paused", updatedAt: now };
      });
      this.interrupt(change, "removed");
      try {
        await this.d.store.remove(key, change.after.revision);
        return;
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
    }
    throw new ConflictError(`job ${key} keeps changing; try again`);
  }
}

function pauseState(s: JobState, now: string): Partial<JobState> | undefined {
  if (s.status === "paused") return undefined;
  if (s.status === "stopped" || s.status === "completed") {
    throw new FailedPreconditionError(`a ${s.status} job cannot be paused`, { field: "id" });
  }
  return { status: "paused", updatedAt: now };
}

function stopState(s: JobState, now: string): Partial<JobState> | undefined {
  if (s.status === "stopped") return undefined;
  if (s.status === "completed")
    throw new FailedPreconditionError("a completed job cannot be stopped", { field: "id" });
  return { status: "stopped", updatedAt: now };
}

function resumeState(s: JobState, now: string): Partial<JobState> | undefined {
  if (ACTIVE_STATUSES.has(s.status)) return undefined;
  if (s.status !== "paused") {
    throw new FailedPreconditionError(`a ${s.status} job cannot be resumed: use start`, { field: "id" });
  }
  return { status: s.retryAt ? "failedRetry" : "queuing", updatedAt: now };
}
