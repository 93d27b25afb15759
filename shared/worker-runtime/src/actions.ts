/**
 * Job actions (the seed's JobAction): after a run the job's `actions` whose `on` matches the outcome run
 * with the after-event data as payload. Built in: `webhook` (HTTP POST of the JSON to `url`, with `headers`,
 * bounded by actionTimeoutMs) and `publish` (core NATS publish of the JSON to `subject`). Other kinds are
 * plugged in with `registerAction(kind, fn)`. An action's failure is logged and reported as an
 * `action:error` event; it never changes the job or its run.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { headers as natsHeaders } from "@nats-io/nats-core";
import type { Logger } from "pino";
import { JSON_TYPE, type ActionTrigger, type JobEventData } from "@taskjet/protocol";
import { errorText } from "./errors.js";
import { safeJson } from "./telemetry.js";
import type { WorkerEventEmitter } from "./workerEvents.js";

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
}

/** A job action kind: `action` is the stored action object (kind-specific fields). */
export type ActionFn = (
  action: Record<string, unknown>,
  payload: ActionPayload,
  ctx: ActionContext,
) => Promise<void>;

const webhook: ActionFn = async (action, payload, ctx) => {
  const res = await fetch(String(action["url"]), {
    method: "POST",
    headers: {
      "content-type": JSON_TYPE,
      ...((action["headers"] as Record<string, string> | undefined) ?? {}),
    },
    body: safeJson(payload),
    signal: ctx.signal,
  });
  // drain the body so the socket is reused
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`webhook ${String(action["url"])} answered ${res.status}`);
};

const publish: ActionFn = async (action, payload, ctx) => {
  const h = natsHeaders();
  h.set("Content-Type", JSON_TYPE);
  ctx.nc.publish(String(action["subject"]), new TextEncoder().encode(safeJson(payload)), { headers: h });
};

const MAX_PENDING_ACTIONS = 1000;

export class ActionRunner {
  private readonly kinds = new Map<string, ActionFn>([
    ["webhook", webhook],
    ["publish", publish],
  ]);
  /** actions still running, so stop() can let them finish */
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly nc: () => NatsConnection | undefined,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
    private readonly events: WorkerEventEmitter,
  ) {}

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
    const nc = this.nc();
    if (!nc) return;
    for (const action of actions) {
      const on = (action["on"] as string[] | undefined) ?? [];
      for (const trigger of triggers) {
        if (!on.includes(trigger)) continue;
        if (this.pending.size >= MAX_PENDING_ACTIONS) {
          // slow endpoints must not grow memory without bound
          const error = `more than ${MAX_PENDING_ACTIONS} actions pending: dropped`;
          this.logger.warn({ fireId: event.fireId, kind: action["kind"], trigger }, error);
          this.events.emit("action:error", {
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
    try {
      const fn = this.kinds.get(kind);
      if (!fn) throw new Error(`no action kind "${kind}" registered: call registerAction("${kind}", fn)`);
      const payload: ActionPayload = { trigger, event };
      if (typeof action["id"] === "string") payload.actionId = action["id"];
      await fn(action, payload, { nc, signal: AbortSignal.timeout(this.timeoutMs), logger: this.logger });
      this.events.emit("action:done", { fireId, kind, trigger });
    } catch (err) {
      const error = errorText(err);
      this.logger.warn({ fireId, kind, trigger, err: error }, "job action failed (the job is not affected)");
      this.events.emit("action:error", { fireId, kind, trigger, error });
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
