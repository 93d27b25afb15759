/**
 * The leader's way from a popped batch to the dispatcher (the middle stage of the firing loop, whose timing
 * ticker.ts describes; settler.ts is the last): plans each entry (planner.ts), groups the fires by the
 * instant they may go out, encodes each group ahead of its instant and sends it then.
 *
 * It changes no heap and keeps no entry: each step returns what it decided (overlap jobs to hold back,
 * entries with nothing to publish, the dispatched groups with their acks to come) and the ticker, which
 * owns the heap and the busy set the cursor keeper reads, applies it and hands the acks to the settler.
 * Whether it may still publish is the batch's Fence (fence.ts), passed down with the batch.
 */
import type { Clock } from "../plan/clock.js";
import { yieldToLoop, type Dispatcher, type FireToPublish, type PublishOutcome } from "./dispatcher.js";
import type { Fence } from "./fence.js";
import type { JobEntry } from "../view/jobEntry.js";
import type { ResolvedSchedulerOptions } from "../options.js";
import { planRetry, planSchedule } from "../plan/planner.js";
import type { SchedulerMetrics, ServiceEvents } from "../serviceEvents.js";
import type { Records, Work } from "./settler.js";

export interface BatchPublisherDeps {
  dispatcher: Dispatcher;
  clock: Clock;
  opts: ResolvedSchedulerOptions;
  events: ServiceEvents;
  metrics: SchedulerMetrics;
}

/** A popped batch split by when to plan it. */
export interface HeldBack {
  /** planned and published now */
  ready: JobEntry[];
  /** overlap jobs, by the clock time to plan them at (wakeEarlyMs before their due time) */
  later: Map<number, JobEntry[]>;
}

/** A planned batch. */
export interface Planned {
  /** entries with nothing to publish (deleted, changed meanwhile, a stale due time): back into the heap */
  back: JobEntry[];
  /** the work by the instant its fires may go out, earliest first */
  groups: [instant: number, work: Work[]][];
}

/** One group handed to the dispatcher. */
export interface Dispatched {
  work: Work[];
  records: Records;
  /** every fire is handed to the connection */
  issued: Promise<void>;
  /** one outcome per fire of `work`, in order */
  acked: Promise<PublishOutcome[]>;
}

export class BatchPublisher {
  constructor(private readonly d: BatchPublisherDeps) {}

  /**
   * Jobs with an overlap policy other than allow are not published early: whether their previous run is
   * still going must be judged at their due time, not leadMs before it (a run that starts in between would
   * be missed, and a replace would interrupt it early). They stay busy (the cursor holds before them) and
   * are planned wakeEarlyMs before their due time, as without a lead.
   */
  holdBack(batch: JobEntry[], now: number): HeldBack {
    const { leadMs, wakeEarlyMs } = this.d.opts;
    const later = new Map<number, JobEntry[]>();
    if (leadMs === 0) return { ready: batch, later };
    const ready: JobEntry[] = [];
    for (const e of batch) {
      if (e.overlapPolicy === "allow" || e.dueIsRetry || e.due - now <= wakeEarlyMs) {
        ready.push(e);
        continue;
      }
      let group = later.get(e.due - wakeEarlyMs);
      if (!group) later.set(e.due - wakeEarlyMs, (group = []));
      group.push(e);
    }
    return { ready, later };
  }

  /** Plans held entries, grouped by the instant each fire may go out. */
  async plan(batch: JobEntry[], fence: Fence): Promise<Planned> {
    const now = this.d.clock.now();
    // a scheduled fire goes out leadMs before its nominal time when popped early, else now
    const lead = this.d.opts.leadMs;
    const back: JobEntry[] = [];
    const groups = new Map<number, Work[]>();
    let n = 0;
    for (const e of batch) {
      if (++n % 2_000 === 0) await yieldToLoop();
      const w = this.planOne(e, now, fence);
      if (!w) {
        back.push(e);
        continue;
      }
      const first = w.plan.fires[0];
      const ahead = e.overlapPolicy === "allow" ? lead : 0; // see holdBack
      const instant = first && first.reason === "schedule" ? Math.max(now, first.nominalMs - ahead) : now;
      let group = groups.get(instant);
      if (!group) groups.set(instant, (group = []));
      group.push(w);
    }
    return { back, groups: [...groups].sort((a, b) => a[0] - b[0]) };
  }

  /** The entry's work, or undefined when it has nothing to publish now. */
  private planOne(e: JobEntry, now: number, fence: Fence): Work | undefined {
    // changed in the store while this batch was being planned: decide again from the new state
    if (e.deleted || e.dirty) return undefined;
    if (e.dueIsRetry) return { e, plan: planRetry(e), retryAtMs: e.retryAtMs, back: "now" };
    // a stale due time (follower heap, takeover, a store floor that moved): recompute, fire nothing
    if (e.due <= fence.floorOf(e)) return undefined;
    return { e, plan: planSchedule(e, e.due, now, this.d.opts), retryAtMs: Number.NaN, back: "now" };
  }

  /** Encodes a group ahead of its instant and sends it then; resolves once it is sent (not yet issued). */
  async dispatch(work: Work[], instant: number, fence: Fence): Promise<Dispatched> {
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
    const prepared = await dispatcher.prepare(items, fence.epoch, instant);
    const early = instant - clock.now();
    if (early > 0) await new Promise<void>((r) => clock.setTimer(r, early));
    // a leader deposed while it waited for the instant interrupts nothing (its fires are fenced too)
    for (const w of work) {
      const record = records.get(w.e);
      if (w.plan.interrupt && record && fence.mayFire())
        metrics.interruptsSent += dispatcher.interrupt(record, "replaced");
    }
    const { issued, acked } = dispatcher.send(prepared, fence.mayFire);
    let issuedMs = 0;
    void issued.then(() => (issuedMs = clock.now()));
    const reported = acked.then((outcomes) => {
      if (prepared.length > 0) {
        events.emit("fire:batch", {
          instantMs: instant,
          count: prepared.length,
          issuedMs,
          ackedMs: clock.now(),
        });
      }
      return outcomes;
    });
    return { work, records, issued, acked: reported };
  }
}
