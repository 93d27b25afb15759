/**
 * What a run reports besides its state write: run-log entries, job event data (for telemetry.ts and the
 * hooks), the in-process hooks and progress. The runner builds event data only when someone reads it
 * (events on, hooks, actions or listeners): this is the hot path.
 */
import type { Logger } from "pino";
import type { FireMessage, JobEventData, JobRecord, Namespace } from "@taskjet/protocol";
import type { Durable } from "./durable.js";
import { errorText } from "../errors.js";
import type { JobHook } from "../handler.js";
import type { ResolvedWorkerOptions } from "../options.js";
import type { Telemetry, WorkerRunLogEntry } from "../telemetry/telemetry.js";
import type { RunRef, WorkerEventEmitter } from "../workerEvents.js";

/** A settled run-log write, for when no entry is made (run log off, or no handler starts: no `started`). */
export const NO_LOG: Promise<void> = Promise.resolve();

export interface ReporterDeps {
  o: ResolvedWorkerOptions;
  ns: Namespace;
  telemetry: Telemetry;
  events: WorkerEventEmitter;
  logger: Logger;
}

export class RunReporter {
  constructor(
    private readonly d: ReporterDeps,
    private readonly durable: Durable,
  ) {}

  /** A run-log entry (when the run log is on); never rejects. */
  log(
    fire: FireMessage,
    ref: RunRef,
    outcome: WorkerRunLogEntry["outcome"],
    startedAt: string | undefined,
    extra?: Partial<WorkerRunLogEntry>,
  ): Promise<void> {
    if (!this.d.telemetry.runLogOn) return NO_LOG;
    const entry: WorkerRunLogEntry = {
      fireId: fire.fireId,
      jobId: fire.jobId,
      tenantId: fire.tenantId,
      group: fire.group,
      type: fire.type,
      name: fire.name,
      attempt: fire.attempt,
      delivery: ref.delivery,
      nominalTime: fire.nominalTime,
      outcome,
      ...(startedAt !== undefined ? { startedAt } : {}),
      finishedAt: new Date().toISOString(),
      worker: this.d.o.workerId,
      node: this.d.o.node,
      ...extra,
    };
    // retried through an outage like the state write: an attempt missing from the log would hide a redelivery
    return this.durable
      .call(() => this.d.telemetry.log(entry))
      .catch((err: unknown) => {
        this.d.logger.warn({ err: errorText(err), fireId: fire.fireId, outcome }, "run-log entry not stored");
      });
  }

  /** Runs in-process hooks in order; a failing hook is logged and ignored. */
  async hooks(hooks: JobHook[], event: JobEventData): Promise<void> {
    for (const h of hooks) {
      try {
        await h(event);
      } catch (err) {
        this.d.logger.warn({ err: errorText(err), phase: event.phase }, "job hook failed (ignored)");
      }
    }
  }

  /** The job event of a phase: the fire, the job's state as `rec` has it, and `extra` on top. */
  eventData(
    fire: FireMessage,
    phase: string,
    rec: JobRecord | undefined,
    extra: Partial<JobEventData> = {},
  ): JobEventData {
    const s = rec?.state;
    const data: JobEventData = {
      key: this.d.ns.jobKey({ tenantId: fire.tenantId, group: fire.group, id: fire.jobId }),
      fireId: fire.fireId,
      type: fire.type,
      name: fire.name,
      group: fire.group,
      tenantId: fire.tenantId,
      args: fire.args,
      status: s?.status ?? "removed",
      phase,
      nominalTime: fire.nominalTime,
      attempt: fire.attempt,
      triggered: s?.triggerCount ?? 0,
      repeatCount: rec?.def?.maxCount ?? 0,
      node: this.d.o.node,
      worker: this.d.o.workerId,
      ...extra,
    };
    if (s?.lastRunTime !== undefined && data.lastRunTime === undefined) data.lastRunTime = s.lastRunTime;
    if (data.nextRunTime === undefined) {
      const next = s?.nextRunTime ?? fire.nextNominalTime;
      if (next !== undefined) data.nextRunTime = next;
    }
    return data;
  }

  /** A handler's ctx.progress(): a progress event, and run:progress for listeners. */
  progress(fire: FireMessage, delivery: number, rec: JobRecord, p: number | Record<string, unknown>): void {
    if (this.d.telemetry.eventsOn) {
      this.d.telemetry.event(fire, "progress", { ...this.eventData(fire, "progress", rec), progress: p });
    }
    this.d.events.emit("run:progress", { fire, delivery, progress: p });
  }
}
