/**
 * The timekeeper: keeps every active job in a due heap (on every replica), and on the leader pops what is
 * due and drives it through the firing stages, each of which returns what it decided and calls nothing
 * back: the batch publisher (batchPublisher.ts) plans the entries with planner.ts and publishes the fires
 * with dispatcher.ts, returning the entries it had nothing to publish for and the dispatched groups with
 * their acks to come; the settler (settler.ts) turns the acks into skip records and bookkeeping and says
 * when each entry goes back. The heap and the busy set stay here, the only place that changes them; the
 * leader's other roles read them through FiringState (firingState.ts). Followers advance their heap to
 * the leader's cursor instead (fireCursor.ts), so a takeover starts from a warm heap.
 *
 * Timing: one loop sleeps until the earliest due time minus leadMs minus wakeEarlyMs (never longer than
 * maxSleepMs, so a wall-clock step is noticed), pops the due batch, plans and encodes it, waits for its
 * publish instant (nominal time minus leadMs: workers hold an early fire and start it at its nominal time)
 * and hands it to the dispatcher without waiting for acks: the next second's batch is never held up by this
 * one. Retries, triggers and late fires go out at once.
 * A popped entry is "busy" until its fires are acked and its writes done, and only then goes back into the
 * heap at its next due time, so a job never has two plans in flight.
 *
 * Fencing: each startFiring opens a Fence (fence.ts), handed down with every batch; work begun under an
 * earlier one publishes and writes nothing.
 *
 * Clock safety: each entry keeps a high-water mark (the last nominal time fired or consumed); its next due
 * time is always computed strictly after it, so a backwards clock step delays fires but never repeats one.
 */
import type { Logger } from "pino";
import type { Clock, TimerHandle } from "../plan/clock.js";
import type { Bookkeeper } from "./bookkeeper.js";
import { BatchPublisher } from "./batchPublisher.js";
import { yieldToLoop, type Dispatcher } from "./dispatcher.js";
import { DueHeap } from "../plan/dueHeap.js";
import type { Fence, Fencing } from "./fence.js";
import { isCovered, type CursorValue } from "./fireCursor.js";
import type { FiringState } from "./firingState.js";
import type { IndexListener, JobIndex } from "../view/jobIndex.js";
import { Slot, type JobEntry } from "../view/jobEntry.js";
import type { ResolvedSchedulerOptions } from "../options.js";
import type { Plan } from "../plan/planner.js";
import type { SchedulerMetrics, ServiceEvents } from "../serviceEvents.js";
import { Settler, type Settled, type Work } from "./settler.js";
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
  /** opened by startFiring, revoked by stopFiring (the bookkeeper checks the same one) */
  fencing: Fencing;
  /** the loop threw (a bug): the service gives the lease up rather than lead without firing */
  onLoopFailed: (err: unknown) => void;
}

export class Ticker implements IndexListener, FiringState {
  private readonly heap = new DueHeap();
  /** popped entries whose plan is in flight (the cursor keeper holds the cursor before them) */
  private readonly busy = new Set<JobEntry>();
  /** entries with recorded runs (for the reaper) */
  readonly withRuns = new Set<JobEntry>();
  private readonly parked = new Set<JobEntry>();
  private readonly withBuffer = new Set<JobEntry>();
  private readonly chains = new Set<Promise<unknown>>();
  private readonly settler: Settler;
  private readonly batches: BatchPublisher;
  private looping = false;
  private wake: (() => void) | undefined;
  private sleepingUntil = Number.POSITIVE_INFINITY;
  private loop: Promise<void> | undefined;

  constructor(private readonly d: TickerDeps) {
    this.settler = new Settler(d);
    this.batches = new BatchPublisher(d);
  }

  /** paused jobs whose "fired through" write is in flight */
  get retiring(): ReadonlySet<JobEntry> {
    return this.settler.retiring;
  }

  /** the epoch fired under now, or last */
  get epoch(): number {
    return this.d.fencing.current.epoch;
  }

  get isFiring(): boolean {
    return this.d.fencing.current.live;
  }

  /**
   * The leader has nothing left to do at its clock's current time: the loop sleeps, nothing in the heap is
   * due by now, and no plan, publish or store write is in flight, so every fire due so far is published,
   * acked and recorded. Tests wait on this before asserting that something was not fired.
   */
  get idle(): boolean {
    if (!this.isFiring || !this.wake || this.busy.size > 0 || this.chains.size > 0) return false;
    const top = this.heap.peek();
    return !top || top.due > this.d.clock.now() + this.aheadMs;
  }

  earliestDue(): number {
    let min = this.heap.peek()?.due ?? Number.POSITIVE_INFINITY;
    for (const e of this.busy) if (e.due < min) min = e.due;
    return min;
  }

  forEachDue(throughMs: number, fn: (e: JobEntry) => void): void {
    this.heap.forEachDue(throughMs, fn);
    for (const e of this.busy) if (e.due <= throughMs) fn(e);
  }

  // ---- view changes (every replica) ----

  onPut(e: JobEntry): void {
    if (!Number.isNaN(e.bufferedMs)) this.withBuffer.add(e);
    else this.withBuffer.delete(e);
    if (e.runningCount > 0) this.withRuns.add(e);
    else this.withRuns.delete(e);
    if (e.slot === Slot.Busy) e.dirty = true;
    else this.place(e);
    if (this.isFiring) this.release(e);
  }

  onDelete(e: JobEntry): void {
    this.heap.remove(e);
    for (const s of [this.parked, this.withBuffer, this.withRuns]) s.delete(e);
    if (e.slot !== Slot.Busy) e.slot = Slot.Idle;
  }

  /** Puts an entry where it belongs now: the heap at its next due time, or nowhere. */
  private place(e: JobEntry): void {
    this.heap.remove(e);
    this.parked.delete(e);
    e.slot = Slot.Idle;
    e.due = Number.POSITIVE_INFINITY;
    e.dueIsRetry = false;
    if (e.deleted || !e.schedule) return;
    if (!e.active) {
      if (e.status === "paused") this.retire(e);
      return;
    }
    const retry = e.jobType === "once" && e.status === "failedRetry";
    if (retry && !Number.isNaN(e.retryAtMs) && !Number.isNaN(e.lastFireMs)) {
      e.due = e.retryAtMs;
      e.dueIsRetry = true;
    } else {
      const next = e.schedule.next(this.d.fencing.current.floorOf(e));
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
    if (this.isFiring) return;
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
    const fence = this.d.fencing.open(epoch, adopt);
    this.looping = true;
    for (const e of [...this.parked]) this.place(e);
    for (const e of [...this.withBuffer]) this.release(e);
    this.loop = this.run(fence).catch((err: unknown) => {
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
    if (!this.isFiring) return;
    this.d.fencing.close();
    this.wake?.();
  }

  /** Waits for the loop to exit and in-flight work to settle (graceful stop), at most `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    const all = Promise.allSettled([this.loop, ...this.chains]);
    await Promise.race([all, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  // ---- the leader's loop ----

  /** How long before a due time the loop pops it: the publish lead plus the time to plan and encode. */
  private get aheadMs(): number {
    return this.d.opts.leadMs + this.d.opts.wakeEarlyMs;
  }

  private async run(fence: Fence): Promise<void> {
    const { clock, opts } = this.d;
    while (fence.live && this.looping) {
      const now = clock.now();
      const top = this.heap.peek();
      if (!top || top.due > now + this.aheadMs) {
        await this.sleep(top ? top.due - this.aheadMs - now : opts.maxSleepMs);
        continue;
      }
      const batch = this.heap.popDue(now + this.aheadMs, opts.maxBatchSize);
      const { ready, later } = this.batches.holdBack(batch, now);
      for (const [planAtMs, group] of later) this.holdUntil(planAtMs, group, fence);
      await this.publish(ready, fence);
      await yieldToLoop(); // timers first (lease renewal, cursor) before the next batch
    }
  }

  /** Popped entries are busy: a store change meanwhile only marks them dirty (retries hold no cursor). */
  private hold(entries: JobEntry[]): void {
    for (const e of entries) {
      e.slot = Slot.Busy;
      e.dirty = false;
      if (!e.dueIsRetry) this.busy.add(e);
    }
  }

  /** Overlap jobs the batch publisher held back: busy until `planAtMs`, then planned and published. */
  private holdUntil(planAtMs: number, group: JobEntry[], fence: Fence): void {
    const { clock } = this.d;
    this.hold(group);
    const run = () => {
      if (!fence.mayFire()) for (const e of group) this.finish(e);
      else this.track(this.publish(group, fence));
    };
    clock.setTimer(run, Math.max(0, planAtMs - clock.now()));
  }

  /**
   * Plans and publishes entries through the batch publisher; resolves once their fires are issued (not
   * acked). The acks go to the settler, and what it decides comes back here.
   */
  private async publish(entries: JobEntry[], fence: Fence): Promise<void> {
    this.hold(entries);
    const planned = await this.batches.plan(entries, fence);
    for (const e of planned.back) this.finish(e);
    for (const [instant, work] of planned.groups) {
      const sent = await this.batches.dispatch(work, instant, fence);
      this.track(
        sent.acked.then((outcomes) =>
          this.putBack(this.settler.afterPublish(work, sent.records, outcomes, fence)),
        ),
      );
      // go on once the group is fully issued (not acked): the publish window bounds what can pile up
      await sent.issued;
    }
  }

  // ---- what the stages return ----

  /** Puts settled entries back; resolves when the last store write among them is done. */
  private putBack(settled: Settled[]): Promise<unknown> | undefined {
    let writes: Promise<void>[] | undefined;
    for (const s of settled) {
      if (s instanceof Promise) (writes ??= []).push(s.then(this.applyBack));
      else this.applyBack(s);
    }
    return writes && Promise.all(writes);
  }

  /** One settled entry: back into the heap now, or after publishRetryDelayMs. */
  private readonly applyBack = (w: Work): void => {
    if (w.back === "later") this.finishLater(w.e);
    else this.finish(w.e);
  };

  private finish(e: JobEntry): void {
    this.busy.delete(e);
    e.slot = Slot.Idle;
    if (!e.deleted) this.place(e);
  }

  private finishLater(e: JobEntry): void {
    setTimeout(() => this.finish(e), this.d.opts.publishRetryDelayMs).unref();
  }

  /** Keeps an in-flight promise for a graceful drain (and `idle`). */
  private track(p: Promise<unknown>): void {
    this.chains.add(p);
    void p
      .catch((err: unknown) => this.d.log.error({ err }, "a firing step failed"))
      .finally(() => this.chains.delete(p));
  }

  /** A recurring job with no fire left that is still active: mark it completed. */
  private completeLater(e: JobEntry): void {
    const fence = this.d.fencing.current;
    if (!fence.live || this.busy.has(e)) return;
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
    const work: Work = { e, plan, retryAtMs: Number.NaN, back: "now" };
    this.track(Promise.resolve(this.putBack([this.settler.settle(work, undefined, [], fence)])));
  }

  /** overlapPolicy bufferOne: the run ended, the settler dispatches the buffered fire. */
  private release(e: JobEntry): void {
    const chain = this.settler.release(e, this.d.fencing.current);
    if (!chain) return;
    this.track(
      chain.then((again) => {
        if (again) setTimeout(() => this.release(e), this.d.opts.publishRetryDelayMs).unref();
      }),
    );
  }

  /** A paused job: the settler records how far it was fired. */
  private retire(e: JobEntry): void {
    const chain = this.settler.retire(e, this.d.fencing.current);
    if (chain) this.track(chain);
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
