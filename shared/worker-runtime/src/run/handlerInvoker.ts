/**
 * The handler's part of a run: the before event and hooks, the args check, the handler call raced against
 * the run's abort (interrupt, timeout, shutdown), and what its return or throw means as a RunResult. The
 * HandlerContext a handler receives is made here too.
 */
import type { Logger } from "pino";
import { encode, parseOrThrow, type FireMessage, type StoredJob } from "@taskjet/protocol";
import type { ActiveRun } from "./activeRun.js";
import { errorText, NonRetryableError, RetryAfterError } from "../errors.js";
import type { HandlerContext, JobHook, JobInfo, Registration } from "../handler.js";
import type { RunResult } from "../outcome/outcome.js";
import type { RunReporter } from "../outcome/runReporter.js";
import type { Telemetry } from "../telemetry/telemetry.js";
import type { RunRef, WorkerEventEmitter } from "../workerEvents.js";

export interface InvokerDeps {
  telemetry: Telemetry;
  events: WorkerEventEmitter;
  beforeHooks: JobHook[];
  logger: Logger;
}

export class HandlerInvoker {
  constructor(
    private readonly d: InvokerDeps,
    readonly report: RunReporter,
    /** the handler's ctx.job.read() */
    readonly readJob: (key: string) => Promise<StoredJob | undefined>,
  ) {}

  /** Calls the handler; its return is a success, its throw a failure of the kind errors.ts names. */
  async invoke(
    a: ActiveRun,
    reg: Registration,
    ref: RunRef,
    stored: StoredJob,
    key: string,
    startedIso: string,
  ): Promise<RunResult> {
    const { fire } = ref;
    if (this.d.telemetry.eventsOn || this.d.beforeHooks.length > 0) {
      const before = this.report.eventData(fire, "before", stored, {
        status: "running",
        runTime: startedIso,
      });
      this.d.telemetry.event(fire, "before", before);
      await this.report.hooks(this.d.beforeHooks, before);
    }
    if (this.d.events.has("run:start")) this.d.events.emit("run:start", { ...ref, startedAt: startedIso });

    const timeout =
      fire.timeoutSeconds > 0 ? setTimeout(() => a.abort("timeout"), fire.timeoutSeconds * 1000) : undefined;
    try {
      if (a.abortReason !== undefined) return abortedResult(a, fire);
      let args: unknown = fire.args;
      if (reg.argsSchema) {
        try {
          args = parseOrThrow(reg.argsSchema, fire.args, "args");
        } catch (err) {
          return {
            kind: "failed",
            error: `invalid args: ${errorText(err)}`,
            nonRetryable: true,
            timedOut: false,
          };
        }
      }
      const ctx = new Context(this, a, fire, ref.delivery, args, stored, key);
      // a handler that ignores its signal must not hold the slot: an abort settles the run at once
      const result = await new Promise<unknown>((resolve, reject) => {
        a.onAbort = reject;
        try {
          Promise.resolve(reg.handler(ctx)).then(resolve, reject);
        } catch (err) {
          reject(err as Error);
        }
      });
      return { kind: "succeeded", result: storable(result, this.d.logger) };
    } catch (err) {
      if (a.abortReason !== undefined) return abortedResult(a, fire);
      if (err instanceof NonRetryableError) {
        return { kind: "failed", error: errorText(err), nonRetryable: true, timedOut: false };
      }
      if (err instanceof RetryAfterError) {
        return {
          kind: "failed",
          error: errorText(err),
          nonRetryable: false,
          retryAfterMs: err.retryAfterMs,
          timedOut: false,
        };
      }
      return { kind: "failed", error: errorText(err), nonRetryable: false, timedOut: false };
    } finally {
      a.onAbort = undefined;
      if (timeout) clearTimeout(timeout);
    }
  }

  get logger(): Logger {
    return this.d.logger;
  }
}

/** A timeout fails the run (and is retried like a failure); an interrupt or shutdown aborts it. */
function abortedResult(a: ActiveRun, fire: FireMessage): RunResult {
  const reason = a.abortReason ?? "interrupted";
  if (reason === "timeout") {
    return {
      kind: "failed",
      error: `timed out after ${fire.timeoutSeconds} s`,
      nonRetryable: false,
      timedOut: true,
    };
  }
  return { kind: "aborted", reason };
}

/**
 * A handler's result as the store (msgpack) and JSON events can hold it: bigints become decimal strings (msgpack
 * holds 64 bits at most and JSON none), anything else that cannot be stored its string form. A result that
 * cannot be written would hand the fire back for ever.
 */
function storable(result: unknown, logger: Logger): unknown {
  if (typeof result === "bigint") return result.toString();
  if (result === undefined || result === null || typeof result !== "object") {
    return typeof result === "function" || typeof result === "symbol" ? String(result) : result;
  }
  try {
    encode(result);
    return result;
  } catch (err) {
    try {
      return JSON.parse(
        JSON.stringify(result, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
      );
    } catch {
      logger.warn(
        { err: errorText(err) },
        "handler result cannot be stored as msgpack; storing its string form",
      );
      return String(result);
    }
  }
}

/** The handler's view of a run. The job info, the logger child and the AbortSignal are made on first use. */
class Context implements HandlerContext<unknown> {
  readonly fireId: string;
  readonly nominalTime: string;
  readonly attempt: number;
  readonly reason: FireMessage["reason"];
  private info: JobInfo | undefined;
  private child: Logger | undefined;

  constructor(
    private readonly invoker: HandlerInvoker,
    private readonly a: ActiveRun,
    private readonly fire: FireMessage,
    readonly delivery: number,
    readonly args: unknown,
    private readonly record: StoredJob,
    private readonly key: string,
  ) {
    this.fireId = fire.fireId;
    this.nominalTime = fire.nominalTime;
    this.attempt = fire.attempt;
    this.reason = fire.reason;
  }

  get job(): JobInfo {
    const { fire, key, invoker } = this;
    this.info ??= {
      id: fire.jobId,
      tenantId: fire.tenantId,
      group: fire.group,
      name: fire.name,
      type: fire.type,
      jobType: fire.jobType,
      priority: fire.priority,
      nodeName: fire.nodeName,
      maxTryCount: fire.maxTryCount,
      timeoutSeconds: fire.timeoutSeconds,
      lockTimeoutSeconds: fire.lockTimeoutSeconds,
      record: this.record,
      read: () => invoker.readJob(key),
    };
    return this.info;
  }

  get signal(): AbortSignal {
    return this.a.signal;
  }

  progress(p: number | Record<string, unknown>): void {
    this.invoker.report.progress(this.fire, this.delivery, this.job.record, p);
  }

  get logger(): Logger {
    this.child ??= this.invoker.logger.child({
      jobId: this.fire.jobId,
      type: this.fire.type,
      fireId: this.fireId,
    });
    return this.child;
  }
}
