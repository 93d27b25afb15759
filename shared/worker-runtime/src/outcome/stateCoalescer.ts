/**
 * Coalesced outcome writes for the runs of frequent recurring jobs.
 *
 * A period or persistent job with no end (maxCount 0), overlap policy allow and no lock is counted by the
 * worker, not the scheduler (see schedulerCountsFires). Writing its state after every run costs a store
 * read-modify-write per run here plus a decode per run in every scheduler replica's store watch; at 10,000
 * schedules a second that is most of the machine. So a successful run of such a job is acked at once and its
 * outcome (lastRunTime, lastFireTime, triggerCount, result, nextRunTime) is kept here and written at most
 * `coalesceStateMs` after its first pending run, all pending runs of a key in one compare-and-set that
 * applies them as applying each in turn with the pure step a single run uses (outcome.ts applyResult) would:
 * pendingRuns.ts keeps what they will write, not the runs and their fires. Failures are
 * never coalesced: they write at once (retries, abandonment), after flushing what is pending for the job.
 *
 * The writes are spread over the interval like the slots of a wheel: each key has a fixed slot (a hash of
 * the key picks one of WHEEL_SLOTS), the wheel turns once per coalesceStateMs, and at each slot's turn the
 * pending runs of its keys are written. A key is thus written at most once per interval and at most one
 * interval after its run, and jobs that run at the same instants (every cron job fires at whole seconds) are
 * written a slice at a time, not all at once where the writes would stall the worker's next burst of runs.
 *
 * What events and hooks show (`base`): the job as its pending runs will leave it; with none pending, as this
 * worker's last write of it left it when that is newer than the caller's copy. A fire is prepared up to the
 * scheduler's leadMs before it starts, so a write can land between the two; the run then still counts the
 * runs that write carried (written records are kept for one to two turns of the wheel).
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
import { ranAlready, type RunResult } from "./outcome.js";
import { PendingRuns } from "./pendingRuns.js";

export interface PendingRun {
  fire: FireMessage;
  result: RunResult;
  startedIso: string;
  finishedAt: Date;
}

/** The wheel's slots: each holds the keys written at its turn, once per coalesceStateMs. */
const WHEEL_SLOTS = 20;

/** A key's slot: FNV-1a of the key, so a job keeps its slot. */
function slotOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % WHEEL_SLOTS;
}

/** Most keys written at once by one flush. */
const FLUSH_CONCURRENCY = 64;

export class StateCoalescer {
  /** pending runs by key, one map per slot of the wheel */
  private readonly wheel: Map<string, PendingRuns>[] = Array.from({ length: WHEEL_SLOTS }, () => new Map());
  /** per key, the state the pending runs lead to (what events and hooks show until the write lands), with
   * the revision it builds on */
  private readonly projected = new Map<string, StoredJob>();
  /** per key, what this worker's last coalesced write stored: this turn of the wheel and the one before */
  private written = new Map<string, StoredJob>();
  /** runs being written right now, by key */
  private readonly writing = new Map<string, PendingRuns>();
  private writtenBefore = new Map<string, StoredJob>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** the wheel turns one slot every tickMs */
  private readonly tickMs: number;
  /** the last turn whose slot was written (Date.now() / tickMs) */
  private lastTurn = 0;
  private pendingKeys = 0;

  constructor(
    private readonly store: CachedJobStore,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {
    this.tickMs = Math.max(1, intervalMs / WHEEL_SLOTS);
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
    for (const slot of this.wheel) for (const runs of slot.values()) n += runs.size;
    return n;
  }

  /**
   * The job as this worker will leave it, for a run about to be added: as its pending runs leave it; else as
   * this worker's last coalesced write left it, when that is newer than `known` (the copy the run was
   * prepared with, which a write may have overtaken meanwhile); else `known`.
   */
  base(key: string, known: StoredJob): StoredJob {
    const projected = this.projected.get(key);
    if (projected) return projected;
    const written = this.written.get(key) ?? this.writtenBefore.get(key);
    return written !== undefined && written.revision > known.revision ? written : known;
  }

  /**
   * True when this worker finished the fire's run and its write is pending, under way, or landed in the last
   * turn or two of the wheel: what a copy of the job read before that write cannot show.
   */
  ranHere(key: string, fire: Pick<FireMessage, "fireId" | "attempt">): boolean {
    if (this.wheel[slotOf(key)]!.get(key)?.has(fire.fireId) || this.writing.get(key)?.has(fire.fireId))
      return true;
    const written = this.written.get(key) ?? this.writtenBefore.get(key);
    return written !== undefined && ranAlready(written, fire);
  }

  /** `after`: the record with this run applied, when the caller computed it (kept as the projection). */
  add(key: string, run: PendingRun, after?: StoredJob): void {
    if (after) this.projected.set(key, after);
    else this.projected.delete(key);
    let runs = this.wheel[slotOf(key)]!.get(key);
    if (!runs) this.pend(key, (runs = new PendingRuns()));
    // applies() admitted only successes
    const result = run.result.kind === "succeeded" ? run.result.result : undefined;
    runs.add(run.fire, result, run.startedIso, run.finishedAt);
  }

  /** Writes what is pending for one key now (before a failure of the same job is written). */
  async flushKey(key: string): Promise<void> {
    const slot = this.wheel[slotOf(key)]!;
    const runs = slot.get(key);
    if (!runs) return;
    slot.delete(key);
    this.pendingKeys--;
    await this.write(key, runs);
  }

  /** Writes everything pending; a failed key stays pending for its slot's next turn. */
  flush(): Promise<void> {
    return this.flushSlots(this.wheel.map((_, i) => i));
  }

  /** Stop: the last flush, then no timer. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Pending runs of a key that had none; the wheel turns while anything is pending. */
  private pend(key: string, runs: PendingRuns): void {
    this.wheel[slotOf(key)]!.set(key, runs);
    this.pendingKeys++;
    if (!this.timer) {
      if (this.lastTurn === 0) this.lastTurn = Math.floor(Date.now() / this.tickMs);
      this.timer = setTimeout(() => this.turn(), this.tickMs);
    }
  }

  /** Writes the slots whose turn came since the last (every slot after a long stall). */
  private turn(): void {
    this.timer = undefined;
    const now = Math.floor(Date.now() / this.tickMs);
    const slots: number[] = [];
    for (let t = this.lastTurn + 1; t <= now && slots.length < WHEEL_SLOTS; t++) slots.push(t % WHEEL_SLOTS);
    this.lastTurn = now;
    if (slots.includes(0)) {
      // a new turn of the wheel: what was written two turns ago no run prepared before it still waits for
      this.writtenBefore = this.written;
      this.written = new Map();
    }
    void this.flushSlots(slots).finally(() => {
      if (this.pendingKeys > 0) this.timer ??= setTimeout(() => this.turn(), this.tickMs);
      else this.lastTurn = 0;
    });
  }

  /** Writes the pending keys of `slots`, after any flush still going (one at a time). */
  private flushSlots(slots: number[]): Promise<void> {
    const mine = (this.flushing ?? Promise.resolve())
      .then(() => {
        const batch: [string, PendingRuns][] = [];
        for (const i of slots) {
          const slot = this.wheel[i]!;
          for (const entry of slot) batch.push(entry);
          this.pendingKeys -= slot.size;
          slot.clear();
        }
        return this.writeAll(batch);
      })
      .finally(() => {
        if (this.flushing === mine) this.flushing = undefined;
      });
    this.flushing = mine;
    return mine;
  }

  private async writeAll(batch: [string, PendingRuns][]): Promise<void> {
    let next = 0;
    const lane = async () => {
      while (next < batch.length) {
        const [key, runs] = batch[next++]!;
        await this.write(key, runs);
      }
    };
    await Promise.all(Array.from({ length: Math.min(FLUSH_CONCURRENCY, batch.length) }, lane));
  }

  private async write(key: string, runs: PendingRuns): Promise<void> {
    this.writing.set(key, runs);
    try {
      // from the worker's copy of the job when it holds one (its own last write): no read first
      const stored = await this.store.mutateFromCopy(key, (current: StoredJob) => runs.applyTo(current));
      this.written.set(key, stored);
      // written: reads of the store show it now (unless newer runs are pending meanwhile)
      if (!this.wheel[slotOf(key)]!.has(key)) this.projected.delete(key);
    } catch (err) {
      if (err instanceof NotFoundError) {
        this.projected.delete(key);
        this.written.delete(key);
        this.writtenBefore.delete(key);
        return; // removed meanwhile: nothing to record
      }
      this.log.warn({ err, key, runs: runs.size }, "coalesced state write failed; trying again later");
      // before the runs that came meanwhile
      const slot = this.wheel[slotOf(key)]!;
      const newer = slot.get(key);
      if (newer) {
        runs.append(newer);
        slot.set(key, runs);
      } else this.pend(key, runs);
    } finally {
      if (this.writing.get(key) === runs) this.writing.delete(key);
    }
  }
}
