/**
 * What the leader does after a batch is published (the slow half of the firing loop, ticker.ts; the fast
 * half is batchPublisher.ts): counts the acks, records skipped fires, writes the per-fire bookkeeping, moves
 * each job's high-water mark and hands the entry back to the ticker. Also the fires and writes that follow
 * store changes rather than the clock: releasing a buffered fire (overlapPolicy bufferOne) when the run
 * ends, and remembering how far a paused job was fired.
 *
 * A failed publish moves nothing: the entry goes back after publishRetryDelayMs and the same plan is made
 * again (the fires that did go out carry the same Nats-Msg-Id and are deduplicated). A fenced write (the
 * lease is gone) is dropped: the next leader replays it.
 */
import type { Logger } from "pino";
import { FencedError } from "@taskjet/protocol";
import type { Bookkeeper } from "./bookkeeper.js";
import type { Dispatcher, PublishOutcome } from "./dispatcher.js";
import type { JobIndex } from "../view/jobIndex.js";
import type { JobEntry } from "../view/jobEntry.js";
import type { ResolvedSchedulerOptions } from "../options.js";
import type { Plan } from "../plan/planner.js";
import type { SchedulerMetrics, ServiceEvents } from "../serviceEvents.js";
import type { SkipRecorder } from "./skipRecorder.js";

/** One popped entry and what the planner decided for it. */
export interface Work {
  e: JobEntry;
  plan: Plan;
  /** for retries: the retryAt this fire answers (the write checks it is still the same) */
  retryAtMs: number;
}

export type Records = Map<JobEntry, ReturnType<JobEntry["record"]>>;

/** The ticker, as the settler sees it. */
export interface SettlerHost {
  mayFire(generation?: number): boolean;
  readonly generation: number;
  readonly epoch: number;
  readonly isFiring: boolean;
  /** the entry's work is done: back into the heap at its next due time */
  finish(e: JobEntry): void;
  /** the same, after publishRetryDelayMs (something failed) */
  finishLater(e: JobEntry): void;
  /** keeps an in-flight promise for a graceful drain */
  track(p: Promise<unknown>): void;
}

export interface SettlerDeps {
  index: JobIndex;
  dispatcher: Dispatcher;
  skips: SkipRecorder;
  books: Bookkeeper;
  opts: ResolvedSchedulerOptions;
  log: Logger;
  events: ServiceEvents;
  metrics: SchedulerMetrics;
}

export class Settler {
  /** paused jobs whose "fired through" write is in flight (the cursor keeper excludes them) */
  readonly retiring = new Set<JobEntry>();
  private readonly releasing = new Set<JobEntry>();

  constructor(
    private readonly host: SettlerHost,
    private readonly d: SettlerDeps,
  ) {}

  async afterPublish(work: Work[], records: Records, outcomes: PublishOutcome[], gen: number): Promise<void> {
    let i = 0;
    const failures = outcomes.filter((o) => !o.ok);
    if (failures.length > 0 && this.host.mayFire(gen)) {
      // one line per batch, not per job: a stalled stream would otherwise flood the log
      const first = failures[0]!;
      this.d.metrics.publishErrors += failures.length;
      this.d.log.warn(
        { failed: failures.length, of: outcomes.length, err: String(!first.ok && first.error) },
        "fire publishes failed; trying again",
      );
    }
    const slow: Promise<void>[] = [];
    for (const w of work) {
      const mine = outcomes.slice(i, i + w.plan.fires.length);
      i += w.plan.fires.length;
      const p = this.settle(w, records.get(w.e), mine, gen);
      if (p) slow.push(p);
    }
    await Promise.all(slow);
  }

  /** After the publish: record skips, write bookkeeping, move the high-water mark, re-place the entry. */
  settle(
    w: Work,
    record: ReturnType<JobEntry["record"]> | undefined,
    outcomes: PublishOutcome[],
    gen: number,
  ): Promise<void> | void {
    const { e, plan } = w;
    const { metrics, events } = this.d;
    const failed = outcomes.find((o) => !o.ok);
    if (failed && !failed.ok) {
      if (this.host.mayFire(gen)) events.emit("fire:failed", { key: e.key, error: String(failed.error) });
      return this.host.finishLater(e);
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
      return this.host.finish(e);
    }
    return this.record(w, record, gen);
  }

  /** The slow path of settle: skipped-fire records and the per-fire store write. */
  private async record(
    w: Work,
    record: ReturnType<JobEntry["record"]> | undefined,
    gen: number,
  ): Promise<void> {
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
      this.host.finish(e);
    } catch (err) {
      if (err instanceof FencedError || !this.host.mayFire(gen)) {
        metrics.fencedEvents++;
        log.warn(
          { job: e.key, err: String(err) },
          "deposed while recording a fire; the new leader replays it",
        );
        return this.host.finish(e);
      }
      metrics.storeWriteErrors++;
      log.warn({ job: e.key, err: String(err) }, "recording a fire failed; trying again");
      this.host.finishLater(e);
    }
  }

  /** overlapPolicy bufferOne: the run ended, dispatch the buffered fire. */
  release(e: JobEntry): void {
    if (!this.host.isFiring || Number.isNaN(e.bufferedMs) || e.runningCount > 0 || e.deleted) return;
    if (this.releasing.has(e) || e.status === "paused" || e.status === "stopped") return;
    this.releasing.add(e);
    const gen = this.host.generation;
    const nominalMs = e.bufferedMs;
    const record = e.record();
    const fire = {
      nominalMs,
      reason: "schedule" as const,
      attempt: 1,
      last: false,
      nextNominalMs: Number.isFinite(e.due) ? e.due : undefined,
    };
    const chain = (async () => {
      const [o] = await this.d.dispatcher.publishBatch(
        [{ record, fire, revision: e.revision }],
        this.host.epoch,
        () => this.host.mayFire(gen),
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
    })()
      .catch((err: unknown) => {
        if (!this.host.mayFire(gen)) return;
        this.d.log.warn({ job: e.key, err: String(err) }, "releasing a buffered fire failed; trying again");
        setTimeout(() => this.release(e), this.d.opts.publishRetryDelayMs).unref();
      })
      .finally(() => this.releasing.delete(e));
    this.host.track(chain);
  }

  /** A paused job remembers how far it was fired, so a resume can replay the pause as misfires. */
  retire(e: JobEntry): void {
    if (!this.host.isFiring || this.retiring.has(e) || !Number.isFinite(e.hwm)) return;
    if (!Number.isNaN(e.lastFireMs) && e.hwm <= e.lastFireMs) return;
    this.retiring.add(e);
    const chain = this.d.books
      .retire(e, e.hwm, e.schedule?.next(e.hwm))
      .then((job) => this.d.index.applyLocal(e.key, job))
      .catch((err: unknown) => this.d.log.warn({ job: e.key, err: String(err) }, "recording a pause failed"))
      .finally(() => this.retiring.delete(e));
    this.host.track(chain);
  }
}
