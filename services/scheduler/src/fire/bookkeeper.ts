/**
 * The leader's store writes, each one compare-and-set (JobStore.mutate re-reads and re-applies on a lost
 * race) and each one idempotent, because a new leader may replay the same fire:
 *
 *   afterPlan      lastFireTime, triggerCount, skippedCount, nextRunTime, buffered, completed
 *                  (applies only while lastFireTime is older than what the plan consumed)
 *   afterRetry     failedRetry -> queuing, retryAt cleared (only for the retry it dispatched)
 *   afterRelease   buffered cleared, triggerCount + 1 (only for the buffered time it dispatched)
 *   retire         a paused job remembers how far it was fired (lastFireTime, nextRunTime), so a resume
 *                  replays the pause through the misfire policy, also after a takeover
 *   clearRuns      the reaper drops runs of workers that stopped heartbeating
 *
 * Fencing: every attempt first asks the lease; a deposed leader's write throws FencedError instead of
 * being retried on a fresh revision.
 */
import type { JobStore } from "@taskjet/nats";
import { FencedError, type JobRecord, type JobState, type StoredJob } from "@taskjet/protocol";
import type { JobEntry } from "../view/jobEntry.js";
import type { Plan } from "../plan/planner.js";

const iso = (ms: number) => new Date(ms).toISOString();
const msOf = (s: string | undefined) => (s === undefined ? Number.NEGATIVE_INFINITY : Date.parse(s));

export class Bookkeeper {
  constructor(
    private readonly store: JobStore,
    private readonly mayWrite: () => boolean,
    private readonly now: () => number,
  ) {}

  private fenced<T>(fn: (job: StoredJob) => T): (job: StoredJob) => T {
    return (job) => {
      if (!this.mayWrite()) throw new FencedError("not the leader any more: store write withheld");
      return fn(job);
    };
  }

  private with(job: StoredJob, state: Partial<JobState>, drop: (keyof JobState)[] = []): JobRecord {
    const next: JobState = { ...job.state, ...state, updatedAt: iso(this.now()) };
    for (const k of drop) delete next[k];
    return { def: job.def, state: next };
  }

  /** Records what a plan did. `fired` = fires acked, `skipped` = skipped fires recorded. */
  afterPlan(e: JobEntry, plan: Plan, fired: number, skipped: number): Promise<StoredJob> {
    return this.store.mutate(
      e.key,
      this.fenced((job) => {
        const last = msOf(job.state.lastFireTime);
        const consumed = plan.consumedThroughMs;
        const recurring = job.def.jobType !== "once";
        const active =
          job.state.status !== "paused" && job.state.status !== "stopped" && job.state.status !== "completed";
        // a recurring job ends with its last fire; a once job is completed by the worker after success,
        // or here when its only fire was skipped
        const complete = plan.finished && active && (recurring || fired === 0) && plan.bufferMs === undefined;
        const fresh = consumed > last;
        if (!fresh && !complete) return undefined; // recorded already (a replay after takeover)
        const state: Partial<JobState> = {};
        const drop: (keyof JobState)[] = [];
        if (fresh) {
          state.lastFireTime = iso(consumed);
          state.triggerCount = job.state.triggerCount + fired;
          state.skippedCount = (job.state.skippedCount ?? 0) + skipped;
          if (plan.bufferMs !== undefined) state.buffered = iso(plan.bufferMs);
        }
        if (plan.nextDueMs !== undefined) state.nextRunTime = iso(plan.nextDueMs);
        else drop.push("nextRunTime");
        if (complete) state.status = "completed";
        return this.with(job, state, drop);
      }),
    );
  }

  afterRetry(e: JobEntry, retryAtMs: number): Promise<StoredJob> {
    return this.store.mutate(
      e.key,
      this.fenced((job) => {
        if (job.state.status !== "failedRetry" || msOf(job.state.retryAt) !== retryAtMs) return undefined;
        return this.with(job, { status: "queuing" }, ["retryAt"]);
      }),
    );
  }

  afterRelease(e: JobEntry, bufferedMs: number): Promise<StoredJob> {
    return this.store.mutate(
      e.key,
      this.fenced((job) => {
        if (msOf(job.state.buffered) !== bufferedMs) return undefined;
        return this.with(job, { triggerCount: job.state.triggerCount + 1 }, ["buffered"]);
      }),
    );
  }

  retire(e: JobEntry, hwmMs: number, nextMs: number | undefined): Promise<StoredJob> {
    return this.store.mutate(
      e.key,
      this.fenced((job) => {
        if (job.state.status !== "paused") return undefined;
        if (!Number.isFinite(hwmMs) || hwmMs <= msOf(job.state.lastFireTime)) return undefined;
        const state: Partial<JobState> = { lastFireTime: iso(hwmMs) };
        if (nextMs !== undefined) state.nextRunTime = iso(nextMs);
        return this.with(job, state);
      }),
    );
  }

  clearRuns(e: JobEntry, isDead: (run: JobState["running"][number]) => boolean): Promise<StoredJob> {
    return this.store.mutate(
      e.key,
      this.fenced((job) => {
        const runs = job.state.running ?? [];
        const alive = runs.filter((r) => !isDead(r));
        if (alive.length === runs.length) return undefined;
        const state: Partial<JobState> = { running: alive };
        if (alive.length === 0 && job.state.status === "running") state.status = "queuing";
        return this.with(job, state);
      }),
    );
  }
}
