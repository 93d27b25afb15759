/**
 * Job actions (the seed's JobAction): after a run the job's `actions` whose `on` matches the outcome run
 * with the after-event data as payload. Built in: `webhook` (HTTP POST of the JSON to `url`, with `headers`,
 * bounded by actionTimeoutMs) and `publish` (core NATS publish of the JSON to `subject`). Other kinds are
 * plugged in with `registerAction(kind, fn)`. An action's failure is logged and reported as an
 * `action:error` event; it never changes the job or its run.
 *
 * Both built-ins are written by a tenant and run with the worker's reach, so each is checked right before
 * it goes out, whatever the scheduler accepted (a job stored before a rule, or written to the bucket by
 * another tool): a webhook goes through the worker's destination policy (guardedHttp.ts), a publish only
 * to its tenant's event namespace or an operator-allowed subject (protocol actionSubjects.ts).
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { headers as natsHeaders } from "@nats-io/nats-core";
import type { Logger } from "pino";
import { failSpan, otelContext, startSpan, tracingOn } from "@taskjet/nats";
import { actionSubjectRefusal, JSON_TYPE, type ActionTrigger, type JobEventData } from "@taskjet/protocol";
import { errorText } from "../errors.js";
import type { GuardedHttp } from "./guardedHttp.js";
import { safeJson } from "../telemetry/telemetry.js";
import type { WorkerEventEmitter } from "../workerEvents.js";

/** The payload every action gets: the after event plus what triggered the action. */
export interface ActionPayload {
  trigger: ActionTrigger;
  actionId?: string;
  event: JobEventData;
}

export interface ActionContext {
  nc: NatsConnection;
  signal: AbortSignal;
  logger: Logger;
  /** outgoing HTTP under the worker's destination policy (httpAllow / httpDeny) */
  http: GuardedHttp;
}

/** A job action kind: `action` is the stored action object (kind-specific fields). */
export type ActionFn = (
  action: Record<string, unknown>,
  payload: ActionPayload,
  ctx: ActionContext,
) => Promise<void>;

const webhook: ActionFn = async (action, payload, ctx) => {
  const url = String(action["url"]);
  // the answer is not used: read at most the cap of it, so a huge or endless one costs nothing
  const res = await ctx.http.request({
    url,
    method: "POST",
    headers: {
      "content-type": JSON_TYPE,
      ...((action["headers"] as Record<string, string> | undefined) ?? {}),
    },
    body: safeJson(payload),
    signal: ctx.signal,
    truncate: true,
  });
  if (!res.ok) throw new Error(`webhook ${url} answered ${res.status}`);
};

/** The publish built-in, with the subject rule of its worker's prefix and operator list. */
function publishAction(scope: () => { prefix: string | undefined; allow: readonly string[] }): ActionFn {
  return async (action, payload, ctx) => {
    const subject = String(action["subject"]);
    const { prefix, allow } = scope();
    if (prefix === undefined) throw new Error("the worker is not started");
    const refusal = actionSubjectRefusal(subject, { prefix, tenant: payload.event.tenantId, allow });
    if (refusal !== undefined) throw new Error(`publish refused: ${refusal}`);
    const h = natsHeaders();
    h.set("Content-Type", JSON_TYPE);
    ctx.nc.publish(subject, new TextEncoder().encode(safeJson(payload)), { headers: h });
  };
}

const MAX_PENDING_ACTIONS = 1000;

export interface ActionRunnerDeps {
  nc: () => NatsConnection | undefined;
  /** the subject prefix, once the worker is started */
  prefix: () => string | undefined;
  timeoutMs: number;
  logger: Logger;
  events: WorkerEventEmitter;
  http: GuardedHttp;
  /** operator-allowed publish subjects (actionSubjectAllow) */
  subjectAllow: readonly string[];
}

export class ActionRunner {
  private readonly kinds: Map<string, ActionFn>;
  /** actions still running, so stop() can let them finish */
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly d: ActionRunnerDeps) {
    this.kinds = new Map<string, ActionFn>([
      ["webhook", webhook],
      ["publish", publishAction(() => ({ prefix: d.prefix(), allow: d.subjectAllow }))],
    ]);
  }

  register(kind: string, fn: ActionFn): void {
    this.kinds.set(kind, fn);
  }

  /** Starts the matching actions; never throws and does not make the run wait. */
  run(
    actions: ReadonlyArray<Record<string, unknown>> | undefined,
    triggers: ActionTrigger[],
    event: JobEventData,
  ): void {
    if (!actions || actions.length === 0 || triggers.length === 0) return;
    const nc = this.d.nc();
    if (!nc) return;
    for (const action of actions) {
      const on = (action["on"] as string[] | undefined) ?? [];
      for (const trigger of triggers) {
        if (!on.includes(trigger)) continue;
        if (this.pending.size >= MAX_PENDING_ACTIONS) {
          // slow endpoints must not grow memory without bound
          const error = `more than ${MAX_PENDING_ACTIONS} actions pending: dropped`;
          this.d.logger.warn({ fireId: event.fireId, kind: action["kind"], trigger }, error);
          this.d.events.emit("action:error", {
            fireId: event.fireId,
            kind: String(action["kind"]),
            trigger,
            error,
          });
          continue;
        }
        const p = this.runOne(nc, action, trigger, event);
        this.pending.add(p);
        void p.finally(() => this.pending.delete(p));
      }
    }
  }

  private async runOne(
    nc: NatsConnection,
    action: Record<string, unknown>,
    trigger: ActionTrigger,
    event: JobEventData,
  ): Promise<void> {
    const kind = String(action["kind"]);
    const fireId = event.fireId;
    // tracing on: a span under the run's (actions start inside the run's context)
    const span = tracingOn()
      ? startSpan("taskjet.action", otelContext.active(), {
          "taskjet.action.kind": kind,
          "taskjet.action.trigger": trigger,
          "taskjet.fire.id": fireId,
        })
      : undefined;
    try {
      const fn = this.kinds.get(kind);
      if (!fn) throw new Error(`no action kind "${kind}" registered: call registerAction("${kind}", fn)`);
      const payload: ActionPayload = { trigger, event };
      if (typeof action["id"] === "string") payload.actionId = action["id"];
      const signal = AbortSignal.timeout(this.d.timeoutMs);
      await fn(action, payload, { nc, signal, logger: this.d.logger, http: this.d.http });
      this.d.events.emit("action:done", { fireId, kind, trigger });
    } catch (err) {
      if (span) failSpan(span, err);
      const error = errorText(err);
      this.d.logger.warn(
        { fireId, kind, trigger, err: error },
        "job action failed (the job is not affected)",
      );
      this.d.events.emit("action:error", { fireId, kind, trigger, error });
    } finally {
      span?.end();
    }
  }

  /** Waits for running actions, at most `ms`. */
  async drain(ms: number): Promise<void> {
    if (this.pending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.pending]),
      new Promise<void>((r) => (timer = setTimeout(r, ms))),
    ]);
    clearTimeout(timer);
  }
}
