/**
 * The pending successes of one coalesced job (stateCoalescer.ts), kept as what they will write instead of
 * as the runs themselves. Applying them gives the record that applying each run in turn with applyResult
 * gives (test/pendingRuns.test.ts checks it on random runs and states), but the coalescer holds no run's
 * fire until the write (up to coalesceStateMs; at 10,000 runs a second those fires were most of the
 * worker's heap and old-generation garbage) and copies the state once per write, not once per run.
 *
 * Only what StateCoalescer.applies admits is added: successes of recurring jobs that are not their last
 * fire. The job's definition is read at write time, as applyResult reads it.
 */
import {
  runKeyOf,
  schedulerCountsFires,
  withDoneRuns,
  type FireMessage,
  type JobRecord,
  type RunInfo,
} from "@taskjet/protocol";
import { copyState, DROP_ON_SUCCESS, held } from "./outcome.js";

/** A scheduled fire's nominal time, which may count as a fire (see outcome.ts countFire). */
interface Nominal {
  ms: number;
  iso: string;
}

export class PendingRuns {
  private readonly fireIds: string[] = [];
  /** the same ids, for has(): asked for every run of the job (stateCoalescer.ranHere) */
  private readonly fireIdSet = new Set<string>();
  /** the runs' keys for state.doneRuns, in the order they finished */
  private readonly runKeys: string[] = [];
  private lastStartedIso = "";
  private lastFinishedAt = new Date(0);
  /** the latest next nominal time any run named */
  private next: string | undefined;
  /** the last run's result (undefined: it returned nothing) */
  private result: unknown;
  /**
   * the nominal times of scheduled fires, each later than all before it: a fire no later than an earlier
   * one is never counted (when that one counted, or did not, lastFireTime is already at least as late)
   */
  private readonly nominals: Nominal[] = [];

  /** Runs folded in. */
  get size(): number {
    return this.fireIds.length;
  }

  /** True when this fire's run is among the pending ones. */
  has(fireId: string): boolean {
    return this.fireIdSet.has(fireId);
  }

  add(fire: FireMessage, result: unknown, startedIso: string, finishedAt: Date): void {
    this.fireIds.push(fire.fireId);
    this.fireIdSet.add(fire.fireId);
    this.runKeys.push(runKeyOf(fire));
    this.lastStartedIso = startedIso;
    this.lastFinishedAt = finishedAt;
    if (fire.nextNominalTime !== undefined) this.next = fire.nextNominalTime;
    this.result = result;
    if (fire.reason === "schedule" || fire.reason === "catchUp")
      this.keepNominal({ ms: Date.parse(fire.nominalTime), iso: fire.nominalTime });
  }

  /** Folds in `newer`, the runs that came after these (a failed write is tried again with them). */
  append(newer: PendingRuns): void {
    if (newer.size === 0) return;
    this.fireIds.push(...newer.fireIds);
    for (const id of newer.fireIds) this.fireIdSet.add(id);
    this.runKeys.push(...newer.runKeys);
    this.lastStartedIso = newer.lastStartedIso;
    this.lastFinishedAt = newer.lastFinishedAt;
    if (newer.next !== undefined) this.next = newer.next;
    this.result = newer.result;
    for (const n of newer.nominals) this.keepNominal(n);
  }

  /** Keeps `n` when it is later than every nominal time kept (an unparseable one never is). */
  private keepNominal(n: Nominal): void {
    const last = this.nominals[this.nominals.length - 1];
    if (last === undefined ? !Number.isNaN(n.ms) : n.ms > last.ms) this.nominals.push(n);
  }

  /** The record after every pending run, as applyResult would leave it run by run. */
  applyTo(current: JobRecord): JobRecord {
    const prev = current.state;
    const state = copyState(prev, DROP_ON_SUCCESS);
    state.updatedAt = this.lastFinishedAt.toISOString();
    state.running = this.withoutRuns(prev.running);
    state.lastRunTime = this.lastStartedIso;
    if (this.next !== undefined) state.nextRunTime = this.next;
    if (!schedulerCountsFires(current.def)) {
      let lastMs = prev.lastFireTime === undefined ? Number.NEGATIVE_INFINITY : Date.parse(prev.lastFireTime);
      let count = prev.triggerCount ?? 0;
      for (const n of this.nominals) {
        if (!(n.ms > lastMs)) continue;
        lastMs = n.ms;
        state.lastFireTime = n.iso;
        state.triggerCount = ++count;
      }
    }
    if (prev.doneRuns !== undefined || this.runKeys.length > 0)
      state.doneRuns = withDoneRuns(prev.doneRuns, this.runKeys);
    state.tryCount = 0;
    if (this.result !== undefined) state.result = this.result;
    state.isAbandoned = false;
    if (!held.has(prev.status)) state.status = current.def.jobType === "once" ? "completed" : "queuing";
    return { def: current.def, state };
  }

  private withoutRuns(running: RunInfo[] | undefined): RunInfo[] {
    if (!running || running.length === 0) return running ?? [];
    return running.filter((r) => !this.fireIdSet.has(r.fireId));
  }
}
