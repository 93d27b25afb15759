/**
 * The end of a run: one compare-and-set of the outcome on the job's state (outcome.ts computes it), or a
 * place in the coalesced write of a frequent recurring job (stateCoalescer.ts); the dead letter of an
 * abandoned run; the ack; then the final run-log entry, the after event, hooks and actions. An aborted run
 * only takes itself out of state.running, and a shutdown hands its fire back instead of acking it.
 */
import type { Logger } from "pino";
import { carrierOf, tracingOn, type JobStore, type TraceContext } from "@taskjet/nats";
import {
  finishedKind,
  NotFoundError,
  type ActionTrigger,
  type FireMessage,
  type JobEventData,
  type JobRecord,
  type StoredJob,
} from "@taskjet/protocol";
import type { ActionRunner } from "./actions.js";
import type { Durable } from "./durable.js";
import type { AbortReason } from "../errors.js";
import type { JobHook } from "../handler.js";
import type { ResolvedWorkerOptions } from "../options.js";
import { applyResult, ranAlready, withoutAbortedRun, type Applied, type RunResult } from "./outcome.js";
import type { RecentRuns } from "./recentRuns.js";
import { NO_LOG, type RunReporter } from "./runReporter.js";
import { StateCoalescer } from "./stateCoalescer.js";
import type { Telemetry } from "../telemetry/telemetry.js";
import type { RunRef, WorkerEventEmitter } from "../workerEvents.js";

/**
 * The part of a delivered run (run/activeRun.ts) its outcome needs: the message to ack or hand back and
 * its trace. Declared here so outcome/ does not import run/ (imports run along the worker's path).
 */
export interface FinishedDelivery {
  readonly msg: {
    readonly subject: string;
    traceContext(): TraceContext;
    ack(): void;
    nak(delayMs?: number): void;
  };
}

export interface OutcomeDeps {
  o: ResolvedWorkerOptions;
  /** coalesced outcome writes of frequent recurring jobs (stateCoalescer.ts) */
  coalescer: StateCoalescer;
  telemetry: Telemetry;
  events: WorkerEventEmitter;
  afterHooks: JobHook[];
  actions: ActionRunner;
  logger: Logger;
  store: JobStore;
}

/**
 * A job whose run finished it, with retention `true` for that end (removeOnComplete for a completion,
 * removeOnFail for an abandonment; resolved by the scheduler when it was queued), is removed instead of
 * written: BullMQ's removeOnComplete / removeOnFail: true.
 */
function removeAtOnce(next: JobRecord): boolean {
  const kind = finishedKind(next.state);
  return kind !== undefined && next.def[kind] === true;
}

export class OutcomeWriter {
  constructor(
    private readonly d: OutcomeDeps,
    private readonly durable: Durable,
    private readonly report: RunReporter,
    private readonly recent: RecentRuns,
  ) {}

  /** Writes, acks and reports the run's outcome (handler done, or a forced failure). */
  async finish(
    a: FinishedDelivery,
    ref: RunRef,
    key: string,
    stored: StoredJob,
    result: RunResult,
    startedIso: string,
    startedMs: number,
    startLog: Promise<void>,
    fast = false,
  ): Promise<void> {
    const { fire } = ref;
    const finishedAt = new Date();
    const durationMs = finishedAt.getTime() - startedMs;

    if (result.kind === "aborted")
      return this.finishAborted(a, ref, key, stored, result.reason, startedIso, durationMs, startLog);

    const o = this.d.o;
    const backoff = { baseMs: o.backoffBaseMs, maxMs: o.backoffMaxMs };
    let applied: Applied | undefined;
    // a success's log entry does not depend on the write: send both at once
    const successLog =
      result.kind === "succeeded"
        ? this.report.log(fire, ref, "succeeded", startedIso, { durationMs, result: result.result })
        : undefined;
    let written: StoredJob | undefined;
    const coalescer = this.d.coalescer;
    if (fast) {
      ({ written, applied } = await this.writeFast(a, key, stored, fire, result, startedIso, finishedAt));
    } else if (coalescer.enabled && StateCoalescer.applies(stored.def, fire, result)) {
      // acked now, written with the job's other recent runs; events and hooks see the state it will have
      // (this run applied on top of the runs still pending, so counters stay right in between)
      const wanted =
        this.d.telemetry.eventsOn ||
        this.d.afterHooks.length > 0 ||
        (stored.def.actions?.length ?? 0) > 0 ||
        this.d.events.has("run:success");
      let projected: StoredJob | undefined;
      if (wanted) {
        // the pending runs, or a coalesced write that landed after this fire was prepared, come first
        const base = coalescer.base(key, stored);
        applied = applyResult(base, fire, result, startedIso, finishedAt, backoff);
        projected = { ...applied.record, revision: base.revision };
      }
      coalescer.add(key, { fire, result, startedIso, finishedAt }, projected);
      written = projected ?? stored;
    } else {
      try {
        // this job's coalesced successes go first, so the store sees its runs in order
        if (coalescer.enabled) await coalescer.flushKey(key);
        written = await this.durable.write(
          key,
          stored,
          (rec, uncertain) => {
            // a retried write whose earlier try may have landed (its reply was lost) must not count it twice
            if (uncertain && applied && rec.state.lastRunTime === startedIso) return undefined;
            applied = applyResult(rec, fire, result, startedIso, finishedAt, backoff);
            return applied.record;
          },
          removeAtOnce,
        );
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
      if (written === undefined) applied = undefined; // removed meanwhile: nothing written, nothing to retry
    }

    const abandoned = applied?.abandoned === true;
    if (abandoned) {
      await this.durable.call(() =>
        this.d.telemetry.deadLetter(fire.tenantId, fire.jobId, {
          reason: "abandoned",
          error: result.kind === "failed" ? result.error : "abandoned",
          subject: a.msg.subject,
          at: finishedAt.toISOString(),
          fire,
        }),
      );
    }
    a.msg.ack();

    const rec = written ?? stored;
    const actions = rec.def?.actions;
    const hasActions = actions !== undefined && actions.length > 0;
    let after: JobEventData | undefined;
    if (this.d.telemetry.eventsOn || this.d.afterHooks.length > 0 || hasActions) {
      after = this.report.eventData(fire, "after", rec, {
        runTime: startedIso,
        durationMs,
        status: written ? written.state.status : "removed",
        ...(result.kind === "succeeded" ? { result: result.result } : { error: result.error }),
      });
      this.d.telemetry.event(fire, "after", after);
    }
    const state = written?.state;
    const triggers: ActionTrigger[] = [];
    if (result.kind === "succeeded") {
      if (this.d.events.has("run:success")) {
        this.d.events.emit("run:success", {
          ...ref,
          result: result.result,
          durationMs,
          ...(state ? { state } : {}),
        });
      }
      triggers.push("succeeded");
    } else {
      this.d.events.emit("run:failure", {
        ...ref,
        error: result.error,
        durationMs,
        timedOut: result.timedOut,
        willRetry: written !== undefined && !abandoned,
        ...(applied?.retryAt ? { retryAt: applied.retryAt } : {}),
        ...(state ? { state } : {}),
      });
      triggers.push("failed");
      if (abandoned) {
        if (after) this.d.telemetry.event(fire, "deadletter", { ...after, phase: "deadletter" });
        this.d.events.emit("run:abandoned", { ...ref, error: result.error, ...(state ? { state } : {}) });
      }
    }
    if (applied?.completed) triggers.push("completed");
    const finalLog =
      successLog ??
      this.report.log(
        fire,
        ref,
        abandoned ? "deadLettered" : result.kind === "failed" && result.timedOut ? "timedOut" : "failed",
        startedIso,
        {
          durationMs,
          ...(result.kind === "failed" ? { error: result.error } : {}),
        },
      );
    // both settled already when the run log is off (NO_LOG): no await, no array
    if (startLog !== NO_LOG || finalLog !== NO_LOG) await Promise.all([startLog, finalLog]);
    if (after) {
      if (this.d.afterHooks.length > 0) await this.report.hooks(this.d.afterHooks, after);
      if (hasActions) this.d.actions.run(actions as unknown as Record<string, unknown>[], triggers, after);
    }
  }

  /**
   * The outcome of a fast-lane run: its first and only store write, a create of the finished record (or a
   * failedRetry one: the scheduler retries it from there like any stored job). Retention `true` for how it
   * ended writes nothing (and remembers the run here, recentRuns.ts). A key that exists already is this
   * run's own earlier create (a retry after a lost reply: doneRuns says so) or a stored job with the same id,
   * which the fast lane did not check at acceptance: that job is left as it is and the outcome is only in the
   * run log and the after event.
   */
  private async writeFast(
    a: FinishedDelivery,
    key: string,
    stored: StoredJob,
    fire: FireMessage,
    result: Exclude<RunResult, { kind: "aborted" }>,
    startedIso: string,
    finishedAt: Date,
  ): Promise<{ written: StoredJob | undefined; applied: Applied | undefined }> {
    const o = this.d.o;
    const applied = applyResult(stored, fire, result, startedIso, finishedAt, {
      baseMs: o.backoffBaseMs,
      maxMs: o.backoffMaxMs,
    });
    const next = applied.record;
    // tracing on: the job keeps the producer's trace context, so a retry's spans descend from it too
    const trace = tracingOn() ? carrierOf(a.msg.traceContext()) : undefined;
    if (trace) next.state.trace = trace;
    if (removeAtOnce(next)) {
      this.recent.add(fire.fireId);
      return { written: { ...next, revision: 0 }, applied };
    }
    const revision = await this.durable.call(() => this.d.store.create(next));
    if (revision !== undefined) return { written: { ...next, revision }, applied };
    const current = await this.durable.call(() => this.d.store.latest(key));
    if (current?.def && current.state && ranAlready(current, fire)) return { written: current, applied };
    this.d.logger.warn(
      { key, fireId: fire.fireId },
      "a stored job has this fast-lane job's id: its run's outcome is not written over it",
    );
    return { written: undefined, applied: undefined };
  }

  private async finishAborted(
    a: FinishedDelivery,
    ref: RunRef,
    key: string,
    stored: StoredJob,
    reason: AbortReason,
    startedIso: string,
    durationMs: number,
    startLog: Promise<void>,
  ): Promise<void> {
    const { fire } = ref;
    const handedBack = reason === "shutdown";
    if (fire.trackRunning) {
      const nowIso = new Date().toISOString();
      await this.durable
        .write(key, stored, (rec) => withoutAbortedRun(rec, fire.fireId, nowIso))
        .catch((err: unknown) =>
          this.d.logger.warn({ err, key }, "could not clear the aborted run from state.running"),
        );
    }
    if (handedBack) a.msg.nak();
    else a.msg.ack();
    this.d.events.emit("run:aborted", { ...ref, reason, handedBack });
    await Promise.all([startLog, this.report.log(fire, ref, "aborted", startedIso, { durationMs, reason })]);
  }
}
