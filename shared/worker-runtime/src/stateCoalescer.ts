/**
 * Coalesced outcome writes for the runs of frequent recurring jobs.
 *
 * A period or persistent job with no end (maxCount 0), overlap policy allow and no lock is counted by the
 * worker, not the scheduler (see schedulerCountsFires). Writing its state after every run costs a store
 * read-modify-write per run here plus a decode per run in every scheduler replica's store watch; at 10,000
 * schedules a second that is most of the machine. So a successful run of such a job is acked at once and its
 * outcome (lastRunTime, lastFireTime, triggerCount, result, nextRunTime) is kept here and written at most
 * `coalesceStateMs` after its first pending run, all pending runs of a key in one compare-and-set that
 * applies them in order with the same pure step (outcome.ts applyResult) a single run uses. Failures are
 * never coalesced: they write at once (retries, abandonment), after flushing what is pending for the job.
 *
 * A key is written at a random point between half and all of coalesceStateMs after its first pending run.
 * Jobs that run at the same instants (every cron job fires at whole seconds) are thus written spread over
 * time, a few at each tick, rather than all at once, where their writes would stall the worker's next
 * burst of runs.
 *
 * The cost: the store shows such a job's last run up to coalesceStateMs late, and a worker that dies
 * (SIGKILL) loses that much bookkeeping; the runs themselves are acked, so not repeated. A graceful stop
 * flushes. coalesceStateMs = 0 writes every run.
 */
import type { Logger } from "pino";
import {
  NotFoundError,
  schedulerCountsFires,
  type FireMessage,
  type JobRecord,
  type StoredJob,
} from "@taskjet/protocol";
import type { CachedJobStore } from "./jobCache.js";
import { applyResult, type Backoff, type RunResult } from "./outcome.js";

export interface PendingRun {
  fire: FireMessage;
  result: RunResult;
  startedIso: string;
  finishedAt: Date;
}

/** A key's pending runs and when they are to be written. */
interface Pending {
  runs: PendingRun[];
  dueAt: number;
}

/** Most keys written at once by one flush. */
const FLUSH_CONCURRENCY = 64;

export class StateCoalescer {
  private pending = new Map<string, Pending>();
  /** per key, the state the pending runs lead to (what events and hooks show until the write lands) */
  private readonly projected = new Map<string, JobRecord>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** how often due keys are looked for */
  private readonly tickMs: number;

  constructor(
    private readonly store: CachedJobStore,
    private readonly intervalMs: number,
    private readonly backoff: Backoff,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {
    this.tickMs = Math.max(10, Math.round(intervalMs / 20));
  }

  /** True when this run's outcome may be coalesced (a success of an unlimited, untracked recurring job). */
  static applies(def: JobRecord["def"], fire: FireMessage, result: RunResult): boolean {
    return (
      result.kind === "succeeded" &&
      def.jobType !== "once" &&
      !fire.last &&
      !fire.trackRunning &&
      !schedulerCountsFires(def)
    );
  }

  get enabled(): boolean {
    return this.intervalMs > 0;
  }

  /** Runs waiting to be written. */
  get size(): number {
    let n = 0;
    for (const p of this.pending.values()) n += p.runs.length;
    return n;
  }

  /** The job as its pending runs leave it, or undefined when nothing is pending or projected. */
  projection(key: string): JobRecord | undefined {
    return this.projected.get(key);
  }

  /** `after`: the record with this run applied, when the caller computed it (kept as the projection). */
  add(key: string, run: PendingRun, after?: JobRecord): void {
    if (after) this.projected.set(key, after);
    else this.projected.delete(key);
    const p = this.pending.get(key);
    if (p) p.runs.push(run);
    else this.pend(key, [run]);
  }

  /** Writes what is pending for one key now (before a failure of the same job is written). */
  async flushKey(key: string): Promise<void> {
    const p = this.pending.get(key);
    if (!p) return;
    this.pending.delete(key);
    await this.write(key, p.runs);
  }

  /** Writes everything pending; a failed key stays pending for a later tick. */
  flush(): Promise<void> {
    return this.flushWhere(() => true);
  }

  /** Stop: the last flush, then no timer. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** New pending runs of `key`, due at a random point between half and all of the interval from now. */
  private pend(key: string, runs: PendingRun[]): void {
    const dueAt = Date.now() + Math.round(this.intervalMs * (0.5 + 0.5 * this.random()));
    this.pending.set(key, { runs, dueAt });
    this.timer ??= setTimeout(() => this.tick(), this.tickMs);
  }

  private tick(): void {
    this.timer = undefined;
    const now = Date.now();
    void this.flushWhere((p) => p.dueAt <= now).finally(() => {
      if (this.pending.size > 0) this.timer ??= setTimeout(() => this.tick(), this.tickMs);
    });
  }

  /** Writes the pending keys that match, after any flush still going (one at a time). */
  private flushWhere(match: (p: Pending) => boolean): Promise<void> {
    const mine = (this.flushing ?? Promise.resolve())
      .then(() => this.writeAll(this.take(match)))
      .finally(() => {
        if (this.flushing === mine) this.flushing = undefined;
      });
    this.flushing = mine;
    return mine;
  }

  /** Takes the matching keys out of pending, oldest first. */
  private take(match: (p: Pending) => boolean): [string, PendingRun[]][] {
    const out: [string, PendingRun[]][] = [];
    for (const [key, p] of this.pending) {
      if (!match(p)) continue;
      out.push([key, p.runs]);
      this.pending.delete(key);
    }
    return out;
  }

  private async writeAll(batch: [string, PendingRun[]][]): Promise<void> {
    let next = 0;
    const lane = async () => {
      while (next < batch.length) {
        const [key, runs] = batch[next++]!;
        await this.write(key, runs);
      }
    };
    await Promise.all(Array.from({ length: Math.min(FLUSH_CONCURRENCY, batch.length) }, lane));
  }

  private async write(key: string, runs: PendingRun[]): Promise<void> {
    try {
      // from the worker's copy of the job when it holds one (its own last write): no read first
      await this.store.mutateFromCopy(key, (current: StoredJob) => {
        let rec: JobRecord = current;
        for (const r of runs)
          rec = applyResult(rec, r.fire, r.result, r.startedIso, r.finishedAt, this.backoff).record;
        return rec;
      });
      // written: reads of the store show it now (unless newer runs are pending meanwhile)
      if (!this.pending.has(key)) this.projected.delete(key);
    } catch (err) {
      if (err instanceof NotFoundError) {
        this.projected.delete(key);
        return; // removed meanwhile: nothing to record
      }
      this.log.warn({ err, key, runs: runs.length }, "coalesced state write failed; trying again later");
      const newer = this.pending.get(key);
      if (newer) newer.runs = [...runs, ...newer.runs];
      else this.pend(key, runs);
    }
  }
}
