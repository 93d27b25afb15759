/**
 * What the leader does after a batch is published (the last stage of the firing loop: ticker.ts pops,
 * batchPublisher.ts plans and publishes, this file settles): counts the acks, records skipped fires, writes
 * the per-fire bookkeeping and moves each job's high-water mark. It returns, for each entry, when the ticker
 * puts it back (`Work.back`: now, at its next due time, or after publishRetryDelayMs); the heap stays the
 * ticker's. Also the fires and writes that follow store changes rather than the clock: releasing a buffered
 * fire (overlapPolicy bufferOne) when the run ends, and remembering how far a paused job was fired; each
 * returns its promise for the ticker to keep until a graceful stop.
 *
 * A failed publish moves nothing: the entry goes back later and the same plan is made again (the fires that
 * did go out carry the same Nats-Msg-Id and are deduplicated). A fenced write (the lease is gone) is
 * dropped: the next leader replays it. Publishes and writes are fenced by the batch's Fence (fence.ts).
 */
import type { Logger } from "pino";
import { FencedError } from "@taskjet/protocol";
import type { Bookkeeper } from "./bookkeeper.js";
import type { Dispatcher, PublishOutcome } from "./dispatcher.js";
import type { Fence } from "./fence.js";
import type { JobIndex } from "../view/jobIndex.js";
import type { JobEntry } from "../view/jobEntry.js";
import type { Plan } from "../plan/planner.js";
import type { SchedulerMetrics, ServiceEvents } from "../serviceEvents.js";
import type { SkipRecorder } from "./skipRecorder.js";

/** One popped entry and what the planner decided for it. */
export interface Work {
  e: JobEntry;
  plan: Plan;
  /** for retries: the retryAt this fire answers (the write checks it is still the same) */
  retryAtMs: number;
  /** set by the settler: back into the heap now, or after publishRetryDelayMs (something failed) */
  back: "now" | "later";
}

export type Records = Map<JobEntry, ReturnType<JobEntry["record"]>>;

/** A settled entry (its `back` decided), or the store write that decides it. */
export type Settled = Work | Promise<Work>;

export interface SettlerDeps {
  index: JobIndex;
  dispatcher: Dispatcher;
  skips: SkipRecorder;
  books: Bookkeeper;
  log: Logger;
  events: ServiceEvents;
  metrics: SchedulerMetrics;
}

export class Settler {
  /** paused jobs whose "fired through" write is in flight (the cursor keeper excludes them) */
  readonly retiring = new Set<JobEntry>();
  private readonly releasing = new Set<JobEntry>();

  constructor(private readonly d: SettlerDeps) {}

  /** Settles a published batch: one result per work item, in order (`outcomes` holds one per fire). */
  afterPublish(work: Work[], records: Records, outcomes: PublishOutcome[], fence: Fence): Settled[] {
    let i = 0;
    const failures = outcomes.filter((o) => !o.ok);
    if (failures.length > 0 && fence.mayFire()) {
      // one line per batch, not per job: a stalled stream would otherwise flood the log
      const first = failures[0]!;
      this.d.metrics.publishErrors += failures.length;
      this.d.log.warn(
        { failed: failures.length, of: outcomes.length, err: String(!first.ok && first.error) },
        "fire publishes failed; trying again",
      );
    }
    const settled: Settled[] = [];
    for (const w of work) {
      const mine = outcomes.slice(i, i + w.plan.fires.length);
      i += w.plan.fires.length;
      settled.push(this.settle(w, records.get(w.e), mine, fence));
    }
    return settled;
  }

  /** After the publish: record skips, write bookkeeping, move the high-water mark, decide `back`. */
  settle(
    w: Work,
    record: ReturnType<JobEntry["record"]> | undefined,
    outcomes: PublishOutcome[],
    fence: Fence,
  ): Settled {
    const { e, plan } = w;
    const { metrics, events } = this.d;
    const failed = outcomes.find((o) => !o.ok);
    if (failed && !failed.ok) {
      if (fence.mayFire()) events.emit("fire:failed", { key: e.key, error: String(failed.error) });
      w.back = "later";
      return w;
    }
    const listening = events.listenerCount("fire:published") > 0;
    plan.fires.forEach((f, k) => {
      const o = outcomes[k];
      if (!o?.ok) return;
      if (o.duplicate) metrics.firesDuplicate++;
      else metrics.firesPublished++;
      if (f.reason === "retry") metrics.retriesPublished++;
      if (listening) {
        events.emit("fire:published", {
          key: e.key,
          fireId: o.fireId,
          nominalMs: f.nominalMs,
          reason: f.reason,
          attempt: f.attempt,
          duplicate: o.duplicate,
        });
      }
    });
    // a finished recurring job is completed here; a once job whose fire went out is completed by the worker
    const completes = plan.finished && (e.jobType !== "once" || plan.fires.length === 0);
    const retry = plan.fires[0]?.reason === "retry"; // failedRetry -> queuing
    const needsWrite =
      e.tracked || retry || plan.skips.length > 0 || completes || plan.bufferMs !== undefined;
    if (!needsWrite) {
      // the common case (recurring, cursor-only): nothing to record, straight back into the heap
      e.hwm = Math.max(e.hwm, plan.consumedThroughMs);
      w.back = "now";
      return w;
    }
    return this.record(w, record, fence);
  }

  /** The slow path of settle: skipped-fire records and the per-fire store write. */
  private async record(
    w: Work,
    record: ReturnType<JobEntry["record"]> | undefined,
    fence: Fence,
  ): Promise<Work> {
    const { e, plan } = w;
    const { metrics, events, log } = this.d;
    try {
      let skipped = 0;
      if (plan.skips.length > 0 && record) {
        skipped = await this.d.skips.record(record, plan.skips);
        metrics.firesSkipped += skipped;
        for (const r of plan.skips)
          events.emit("fire:skipped", { key: e.key, count: r.count, reason: r.reason });
      }
      if (plan.fires[0]?.reason === "retry") {
        this.d.index.applyLocal(e.key, await this.d.books.afterRetry(e, w.retryAtMs));
      } else {
        this.d.index.applyLocal(e.key, await this.d.books.afterPlan(e, plan, plan.fires.length, skipped));
      }
      e.hwm = Math.max(e.hwm, plan.consumedThroughMs);
      w.back = "now";
    } catch (err) {
      if (err instanceof FencedError || !fence.mayFire()) {
        metrics.fencedEvents++;
        log.warn(
          { job: e.key, err: String(err) },
          "deposed while recording a fire; the new leader replays it",
        );
        w.back = "now";
      } else {
        metrics.storeWriteErrors++;
        log.warn({ job: e.key, err: String(err) }, "recording a fire failed; trying again");
        w.back = "later";
      }
    }
    return w;
  }

  /**
   * overlapPolicy bufferOne: the run ended, dispatch the buffered fire. Returns the chain (undefined when
   * there is nothing to release), resolving true when it failed and should be tried again later.
   */
  release(e: JobEntry, fence: Fence): Promise<boolean> | undefined {
    if (!fence.live || Number.isNaN(e.bufferedMs) || e.runningCount > 0 || e.deleted) return undefined;
    if (this.releasing.has(e) || e.status === "paused" || e.status === "stopped") return undefined;
    this.releasing.add(e);
    const nominalMs = e.bufferedMs;
    const record = e.record();
    const fire = {
      nominalMs,
      reason: "schedule" as const,
      attempt: 1,
      last: false,
      nextNominalMs: Number.isFinite(e.due) ? e.due : undefined,
    };
    return (async () => {
      const [o] = await this.d.dispatcher.publishBatch(
        [{ record, fire, revision: e.revision }],
        fence.epoch,
        fence.mayFire,
      );
      if (!o?.ok) throw o?.error ?? new Error("publish failed");
      this.d.metrics.bufferedReleased++;
      this.d.events.emit("fire:published", {
        key: e.key,
        fireId: o.fireId,
        nominalMs,
        reason: "schedule",
        attempt: 1,
        duplicate: o.duplicate,
      });
      this.d.index.applyLocal(e.key, await this.d.books.afterRelease(e, nominalMs));
      return false;
    })()
      .catch((err: unknown) => {
        if (!fence.mayFire()) return false;
        this.d.log.warn({ job: e.key, err: String(err) }, "releasing a buffered fire failed; trying again");
        return true;
      })
      .finally(() => this.releasing.delete(e));
  }

  /** A paused job remembers how far it was fired, so a resume can replay the pause as misfires. */
  retire(e: JobEntry, fence: Fence): Promise<void> | undefined {
    if (!fence.live || this.retiring.has(e) || !Number.isFinite(e.hwm)) return undefined;
    if (!Number.isNaN(e.lastFireMs) && e.hwm <= e.lastFireMs) return undefined;
    this.retiring.add(e);
    return this.d.books
      .retire(e, e.hwm, e.schedule?.next(e.hwm))
      .then((job) => this.d.index.applyLocal(e.key, job))
      .catch((err: unknown) => this.d.log.warn({ job: e.key, err: String(err) }, "recording a pause failed"))
      .finally(() => this.retiring.delete(e));
  }
}
