/**
 * The leader's way from a popped batch to the dispatcher (the fast half of the firing loop, whose timing
 * ticker.ts describes; settler.ts is the slow half): plans each entry (planner.ts), groups the fires by the
 * instant they may go out, encodes each group ahead of its instant and sends it then, leaving the acks to
 * the settler.
 *
 * The entries stay the ticker's: this file marks them busy and hands them back through PublisherHost
 * (place, finish), so the heap and the busy set the cursor keeper reads are kept in one place.
 */
import type { Clock } from "../plan/clock.js";
import { yieldToLoop, type Dispatcher, type FireToPublish } from "./dispatcher.js";
import { Slot, type JobEntry } from "../view/jobEntry.js";
import type { ResolvedSchedulerOptions } from "../options.js";
import { planRetry, planSchedule } from "../plan/planner.js";
import type { SchedulerMetrics, ServiceEvents } from "../serviceEvents.js";
import type { Records, Settler, SettlerHost, Work } from "./settler.js";

/** The ticker, as the batch publisher sees it. */
export interface PublisherHost extends Pick<SettlerHost, "mayFire" | "epoch" | "finish" | "track"> {
  /** popped entries whose plan is in flight (the cursor keeper holds the cursor before them) */
  readonly busy: Set<JobEntry>;
  /** puts an entry where it belongs now: the heap at its next due time, or nowhere */
  place(e: JobEntry): void;
  /** where the job's next fire may start: strictly after this */
  floorOf(e: JobEntry): number;
}

export interface BatchPublisherDeps {
  dispatcher: Dispatcher;
  clock: Clock;
  opts: ResolvedSchedulerOptions;
  events: ServiceEvents;
  metrics: SchedulerMetrics;
}

export class BatchPublisher {
  constructor(
    private readonly host: PublisherHost,
    private readonly settler: Settler,
    private readonly d: BatchPublisherDeps,
  ) {}

  /**
   * Plans and publishes a batch popped at `now` under generation `gen`. Resolves once its fires are issued
   * (not acked); overlap jobs held back to their due time are tracked by the host instead.
   */
  fire(batch: JobEntry[], now: number, gen: number): Promise<void> {
    return this.process(this.deferOverlapJobs(batch, now, gen), gen);
  }

  /**
   * Jobs with an overlap policy other than allow are not published early: whether their previous run is
   * still going must be judged at their due time, not leadMs before it (a run that starts in between would
   * be missed, and a replace would interrupt it early). They stay busy (the cursor holds before them) and
   * are planned wakeEarlyMs before their due time, as without a lead.
   */
  private deferOverlapJobs(batch: JobEntry[], now: number, gen: number): JobEntry[] {
    const { leadMs, wakeEarlyMs } = this.d.opts;
    if (leadMs === 0) return batch;
    const ready: JobEntry[] = [];
    const later = new Map<number, JobEntry[]>();
    for (const e of batch) {
      if (e.overlapPolicy === "allow" || e.dueIsRetry || e.due - now <= wakeEarlyMs) {
        ready.push(e);
        continue;
      }
      e.slot = Slot.Busy;
      e.dirty = false;
      this.host.busy.add(e);
      let group = later.get(e.due);
      if (!group) later.set(e.due, (group = []));
      group.push(e);
    }
    for (const [due, group] of later) {
      const run = () => {
        for (const e of group) this.host.busy.delete(e);
        if (!this.host.mayFire(gen)) {
          for (const e of group) this.host.finish(e);
          return;
        }
        this.host.track(this.process(group, gen));
      };
      this.d.clock.setTimer(run, Math.max(0, due - wakeEarlyMs - this.d.clock.now()));
    }
    return ready;
  }

  /** Plans a popped batch and publishes it, grouped by the instant each fire may go out. */
  private async process(batch: JobEntry[], gen: number): Promise<void> {
    const now = this.d.clock.now();
    // all of the batch is busy before the first yield: a store change meanwhile only marks it dirty
    for (const e of batch) {
      e.slot = Slot.Busy;
      e.dirty = false;
    }
    // a scheduled fire goes out leadMs before its nominal time when popped early, else now
    const lead = this.d.opts.leadMs;
    const groups = new Map<number, Work[]>();
    let n = 0;
    for (const e of batch) {
      if (++n % 2_000 === 0) await yieldToLoop();
      const w = this.plan(e, now);
      if (!w) continue;
      const first = w.plan.fires[0];
      const ahead = e.overlapPolicy === "allow" ? lead : 0; // see deferOverlapJobs
      const instant = first && first.reason === "schedule" ? Math.max(now, first.nominalMs - ahead) : now;
      let group = groups.get(instant);
      if (!group) groups.set(instant, (group = []));
      group.push(w);
    }
    for (const instant of [...groups.keys()].sort((a, b) => a - b)) {
      await this.publish(groups.get(instant)!, instant, gen);
    }
  }

  private plan(e: JobEntry, now: number): Work | undefined {
    if (e.deleted) {
      e.slot = Slot.Idle;
      return undefined;
    }
    if (e.dirty) {
      // changed in the store while this batch was being planned: decide again from the new state
      this.host.place(e);
      return undefined;
    }
    if (e.dueIsRetry) return { e, plan: planRetry(e), retryAtMs: e.retryAtMs };
    if (e.due <= this.host.floorOf(e)) {
      // a stale due time (follower heap, takeover, a store floor that moved): recompute, fire nothing
      this.host.place(e);
      return undefined;
    }
    this.host.busy.add(e);
    return { e, plan: planSchedule(e, e.due, now, this.d.opts), retryAtMs: Number.NaN };
  }

  private async publish(work: Work[], instant: number, gen: number): Promise<void> {
    const { clock, dispatcher, metrics, events } = this.d;
    const items: FireToPublish[] = [];
    const records: Records = new Map();
    for (const w of work) {
      if (w.plan.fires.length === 0 && w.plan.skips.length === 0 && !w.plan.interrupt) continue;
      const record = w.e.record();
      records.set(w.e, record);
      for (const fire of w.plan.fires) items.push({ record, fire, revision: w.e.revision });
    }
    // encode before the instant (we woke early for this), then only the socket writes remain
    const prepared = await dispatcher.prepare(items, this.host.epoch, instant);
    const early = instant - clock.now();
    if (early > 0) await new Promise<void>((r) => clock.setTimer(r, early));
    // a leader deposed while it waited for the instant interrupts nothing (its fires are fenced too)
    for (const w of work) {
      const record = records.get(w.e);
      if (w.plan.interrupt && record && this.host.mayFire(gen))
        metrics.interruptsSent += dispatcher.interrupt(record, "replaced");
    }
    const { issued, acked } = dispatcher.send(prepared, () => this.host.mayFire(gen));
    let issuedMs = 0;
    void issued.then(() => (issuedMs = clock.now()));
    this.host.track(
      acked.then((outcomes) => {
        if (prepared.length > 0) {
          events.emit("fire:batch", {
            instantMs: instant,
            count: prepared.length,
            issuedMs,
            ackedMs: clock.now(),
          });
        }
        return this.settler.afterPublish(work, records, outcomes, gen);
      }),
    );
    // go on once the batch is fully issued (not acked): the publish window bounds what can pile up
    await issued;
  }
}
