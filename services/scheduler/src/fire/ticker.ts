/**
 * The timekeeper: keeps every active job in a due heap (on every replica), and on the leader pops what is
 * due and hands it to the batch publisher (batchPublisher.ts: plans it with planner.ts, publishes the fires
 * with dispatcher.ts), whose results go to the settler (settler.ts: skip records, bookkeeping, back into the
 * heap). Followers advance their heap to the leader's cursor instead (fireCursor.ts), so a takeover starts
 * from a warm heap.
 *
 * Timing: one loop sleeps until the earliest due time minus leadMs minus wakeEarlyMs (never longer than
 * maxSleepMs, so a wall-clock step is noticed), pops the due batch, plans and encodes it, waits for its
 * publish instant (nominal time minus leadMs: workers hold an early fire and start it at its nominal time)
 * and hands it to the dispatcher without waiting for acks: the next second's batch is never held up by this
 * one. Retries, triggers and late fires go out at once.
 * A popped entry is "busy" until its fires are acked and its writes done, and only then goes back into the
 * heap at its next due time, so a job never has two plans in flight.
 *
 * Clock safety: each entry keeps a high-water mark (the last nominal time fired or consumed); its next due
 * time is always computed strictly after it, so a backwards clock step delays fires but never repeats one.
 */
import type { Logger } from "pino";
import type { Clock, TimerHandle } from "../plan/clock.js";
import type { Bookkeeper } from "./bookkeeper.js";
import { BatchPublisher, type PublisherHost } from "./batchPublisher.js";
import { yieldToLoop, type Dispatcher } from "./dispatcher.js";
import { DueHeap } from "../plan/dueHeap.js";
import { EMPTY_CURSOR, isCovered, type CursorValue } from "./fireCursor.js";
import type { IndexListener, JobIndex } from "../view/jobIndex.js";
import { Slot, type JobEntry } from "../view/jobEntry.js";
import type { ResolvedSchedulerOptions } from "../options.js";
import type { Plan } from "../plan/planner.js";
import type { SchedulerMetrics, ServiceEvents } from "../serviceEvents.js";
import { Settler, type SettlerHost } from "./settler.js";
import type { SkipRecorder } from "./skipRecorder.js";

export interface TickerDeps {
  index: JobIndex;
  dispatcher: Dispatcher;
  skips: SkipRecorder;
  books: Bookkeeper;
  clock: Clock;
  opts: ResolvedSchedulerOptions;
  log: Logger;
  events: ServiceEvents;
  metrics: SchedulerMetrics;
  isLeader: () => boolean;
  /** the loop threw (a bug): the service gives the lease up rather than lead without firing */
  onLoopFailed: (err: unknown) => void;
}

export class Ticker implements IndexListener, SettlerHost, PublisherHost {
  readonly heap = new DueHeap();
  /** popped entries whose plan is in flight (the cursor keeper holds the cursor before them) */
  readonly busy = new Set<JobEntry>();
  /** entries with recorded runs (for the reaper) */
  readonly withRuns = new Set<JobEntry>();
  private readonly parked = new Set<JobEntry>();
  private readonly withBuffer = new Set<JobEntry>();
  private readonly chains = new Set<Promise<unknown>>();
  private readonly settler: Settler;
  private readonly batches: BatchPublisher;
  private firing = false;
  private looping = false;
  private gen = 0;
  private epochValue = 0;
  private adopt: CursorValue = EMPTY_CURSOR;
  private wake: (() => void) | undefined;
  private sleepingUntil = Number.POSITIVE_INFINITY;
  private loop: Promise<void> | undefined;

  constructor(private readonly d: TickerDeps) {
    this.settler = new Settler(this, d);
    this.batches = new BatchPublisher(this, this.settler, d);
  }

  /** paused jobs whose "fired through" write is in flight */
  get retiring(): ReadonlySet<JobEntry> {
    return this.settler.retiring;
  }

  /** bumped whenever firing starts or stops: work begun under an older generation may not publish */
  get generation(): number {
    return this.gen;
  }

  get epoch(): number {
    return this.epochValue;
  }

  get isFiring(): boolean {
    return this.firing;
  }

  /**
   * The leader has nothing left to do at its clock's current time: the loop sleeps, nothing in the heap is
   * due by now, and no plan, publish or store write is in flight, so every fire due so far is published,
   * acked and recorded. Tests wait on this before asserting that something was not fired.
   */
  get idle(): boolean {
    if (!this.firing || !this.wake || this.busy.size > 0 || this.chains.size > 0) return false;
    const top = this.heap.peek();
    return !top || top.due > this.d.clock.now() + this.aheadMs;
  }

  /** The leader's check before every publish and store write. */
  mayFire(generation = this.gen): boolean {
    return generation === this.gen && this.firing && this.d.isLeader();
  }

  // ---- view changes (every replica) ----

  onPut(e: JobEntry): void {
    if (!Number.isNaN(e.bufferedMs)) this.withBuffer.add(e);
    else this.withBuffer.delete(e);
    if (e.runningCount > 0) this.withRuns.add(e);
    else this.withRuns.delete(e);
    if (e.slot === Slot.Busy) e.dirty = true;
    else this.place(e);
    if (this.firing) this.settler.release(e);
  }

  onDelete(e: JobEntry): void {
    this.heap.remove(e);
    for (const s of [this.parked, this.withBuffer, this.withRuns]) s.delete(e);
    if (e.slot !== Slot.Busy) e.slot = Slot.Idle;
  }

  /** Where the job's next fire may start: strictly after this. */
  floorOf(e: JobEntry): number {
    let f = Math.max(e.hwm, e.storeFloor());
    if (this.firing && isCovered(e, this.adopt)) f = Math.max(f, this.adopt.firedThroughMs);
    return f;
  }

  /** Puts an entry where it belongs now: the heap at its next due time, or nowhere. */
  place(e: JobEntry): void {
    this.heap.remove(e);
    this.parked.delete(e);
    e.slot = Slot.Idle;
    e.due = Number.POSITIVE_INFINITY;
    e.dueIsRetry = false;
    if (e.deleted || !e.schedule) return;
    if (!e.active) {
      if (e.status === "paused") this.settler.retire(e);
      return;
    }
    const retry = e.jobType === "once" && e.status === "failedRetry";
    if (retry && !Number.isNaN(e.retryAtMs) && !Number.isNaN(e.lastFireMs)) {
      e.due = e.retryAtMs;
      e.dueIsRetry = true;
    } else {
      const next = e.schedule.next(this.floorOf(e));
      if (next === undefined) {
        if (e.jobType !== "once") this.completeLater(e);
        return;
      }
      e.due = next;
    }
    this.heap.upsert(e);
    e.slot = Slot.Heap;
    if (this.wake && e.due - this.aheadMs < this.sleepingUntil) this.wake();
  }

  // ---- followers ----

  /** A follower saw the leader's cursor: covered jobs move past it, the others wait (parked). */
  followCursor(c: CursorValue): void {
    if (this.firing) return;
    for (const e of this.heap.popDue(c.firedThroughMs, Number.MAX_SAFE_INTEGER)) this.shadow(e, c);
    for (const e of [...this.parked]) this.shadow(e, c);
  }

  private shadow(e: JobEntry, c: CursorValue): void {
    if (!e.dueIsRetry && isCovered(e, c)) {
      e.hwm = Math.max(e.hwm, c.firedThroughMs);
      this.place(e);
    } else {
      this.parked.add(e);
      e.slot = Slot.Parked;
    }
  }

  // ---- leadership ----

  /** Starts firing as leader of `epoch`, resuming from the claimed cursor `adopt`. */
  startFiring(epoch: number, adopt: CursorValue): void {
    this.gen++;
    this.epochValue = epoch;
    this.adopt = adopt;
    this.firing = true;
    this.looping = true;
    for (const e of [...this.parked]) this.place(e);
    for (const e of [...this.withBuffer]) this.settler.release(e);
    this.loop = this.run(this.gen).catch((err: unknown) => {
      this.d.log.error({ err }, "ticker loop failed");
      this.d.onLoopFailed(err);
    });
  }

  /** Stops taking new batches but lets in-flight work finish as leader (graceful stop: then `drain`). */
  stopLoop(): void {
    this.looping = false;
    this.wake?.();
  }

  /** Stops firing at once; in-flight publishes finish (or fail the fencing check) in the background. */
  stopFiring(): void {
    this.looping = false;
    if (!this.firing) return;
    this.firing = false;
    this.gen++;
    this.wake?.();
  }

  /** Waits for the loop to exit and in-flight work to settle (graceful stop), at most `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    const all = Promise.allSettled([this.loop, ...this.chains]);
    await Promise.race([all, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  // ---- settler host ----

  track(p: Promise<unknown>): void {
    this.chains.add(p);
    void p
      .catch((err: unknown) => this.d.log.error({ err }, "a firing step failed"))
      .finally(() => this.chains.delete(p));
  }

  finish(e: JobEntry): void {
    this.busy.delete(e);
    e.slot = Slot.Idle;
    if (!e.deleted) this.place(e);
  }

  finishLater(e: JobEntry): void {
    setTimeout(() => this.finish(e), this.d.opts.publishRetryDelayMs).unref();
  }

  /** A recurring job with no fire left that is still active: mark it completed. */
  private completeLater(e: JobEntry): void {
    if (!this.firing || this.busy.has(e)) return;
    e.slot = Slot.Busy;
    this.busy.add(e);
    const plan: Plan = {
      fires: [],
      skips: [],
      interrupt: false,
      consumedThroughMs: e.hwm,
      nextDueMs: undefined,
      finished: true,
    };
    this.track(
      Promise.resolve(this.settler.settle({ e, plan, retryAtMs: Number.NaN }, undefined, [], this.gen)),
    );
  }

  // ---- the leader's loop ----

  /** How long before a due time the loop pops it: the publish lead plus the time to plan and encode. */
  private get aheadMs(): number {
    return this.d.opts.leadMs + this.d.opts.wakeEarlyMs;
  }

  private async run(gen: number): Promise<void> {
    const { clock, opts } = this.d;
    while (gen === this.gen && this.firing && this.looping) {
      const now = clock.now();
      const top = this.heap.peek();
      if (!top || top.due > now + this.aheadMs) {
        await this.sleep(top ? top.due - this.aheadMs - now : opts.maxSleepMs);
        continue;
      }
      const batch = this.heap.popDue(now + this.aheadMs, opts.maxBatchSize);
      await this.batches.fire(batch, now, gen);
      await yieldToLoop(); // timers first (lease renewal, cursor) before the next batch
    }
  }

  private sleep(ms: number): Promise<void> {
    const { clock, opts } = this.d;
    const wait = Math.max(1, Math.min(ms, opts.maxSleepMs));
    return new Promise<void>((resolve) => {
      let handle: TimerHandle | undefined = undefined;
      const done = () => {
        clock.clearTimer(handle);
        this.wake = undefined;
        this.sleepingUntil = Number.POSITIVE_INFINITY;
        resolve();
      };
      handle = clock.setTimer(done, wait);
      this.sleepingUntil = clock.now() + wait;
      this.wake = done;
    });
  }
}
