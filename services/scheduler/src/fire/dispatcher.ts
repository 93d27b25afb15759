/**
 * Publishes fires (the seed's IJobPublisher / IJobDispatcher) and interrupts.
 *
 * A fire is a JetStream message on fireSubjectOf(ns, def) = `<p>.run.<tenant>.<node|_any>.<type>.p<1..5>.=fire`,
 * payload a msgpack FireMessage, headers Nats-Msg-Id (fireMsgId: the stream's duplicate window turns a
 * re-publish after a takeover into a no-op), Taskjet-Epoch, Taskjet-Nominal-Time, Taskjet-Fire-Id and
 * Content-Type (encoded once, fireHeaders.ts); JSON instead of msgpack for the nodes and types of the
 * jsonFires option (foreign workers without a msgpack library).
 * Batches are encoded ahead of their instant and go out concurrently (one pub-ack round trip per message
 * would cap us at a few thousand a second), bounded by maxInFlightPublishes; the fencing check (is the lease
 * still ours?) runs right before each message of a batch.
 *
 * An interrupt is a core NATS message on `<p>.ctl.<node>`: msgpack { jobId, tenantId, fireId, reason },
 * addressed to the node of each recorded run, else the job's node, else `_all`. fireId "*" means any run of
 * the job (its runs were not tracked).
 */
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from "@nats-io/nats-core";
import {
  ALL_NODES,
  ANY_NODE,
  buildFire,
  encode,
  fireMsgId,
  Headers,
  JSON_TYPE,
  MSGPACK,
  fireSubjectOf,
  type FireMessage,
  type JobRecord,
  type Namespace,
} from "@taskjet/protocol";
import {
  carrierOf,
  contextOf,
  failSpan,
  jobAttributes,
  linkTo,
  otelContext,
  otelTrace,
  SpanKind,
  startSpan,
  tracingOn,
  type Span,
} from "@taskjet/nats";
import type { PlannedFire } from "../plan/planner.js";
import { fireHeaders } from "./fireHeaders.js";
import { PubAckMux } from "./pubAckMux.js";

/** Work in slices of this many messages, letting timers run in between. */
const YIELD_EVERY = 10_000;
export const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

export type InterruptReason = "replaced" | "paused" | "stopped" | "removed";

export interface InterruptMessage {
  jobId: string;
  tenantId: string;
  fireId: string;
  reason: InterruptReason;
}

export interface FireToPublish {
  record: JobRecord;
  fire: PlannedFire;
  /** the store revision `record` was read at (travels in the fire: workers' job cache) */
  revision: number;
}

export interface PreparedFire {
  subject: string;
  data: Uint8Array;
  headers: MsgHdrs;
  fireId: string;
  /** the fire's span (tracing on), ended when JetStream acks the publish */
  span?: Span;
}

export type PublishOutcome = { ok: true; duplicate: boolean; fireId: string } | { ok: false; error: unknown };

/** Limits the number of publishes awaiting an ack. */
class Window {
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly size: number) {}
  /** Takes a slot without waiting when one is free (keeps a batch in one synchronous loop). */
  tryAcquire(): boolean {
    if (this.inFlight >= this.size || this.waiting.length > 0) return false;
    this.inFlight++;
    return true;
  }
  async acquire(): Promise<void> {
    if (this.tryAcquire()) return;
    await new Promise<void>((r) => this.waiting.push(r));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inFlight--;
  }
}

/** The fire the leader publishes for a planned fire of `record` (protocol buildFire). */
export function buildFireMessage(
  record: JobRecord,
  fire: PlannedFire,
  epoch: number,
  firedAtIso: string,
  revision?: number,
): FireMessage {
  return buildFire(record.def, fire, { epoch, firedAtIso, revision });
}

export class Dispatcher {
  private readonly window: Window;
  private readonly mux: PubAckMux;
  private readonly jsonNodes: ReadonlySet<string>;
  private readonly jsonTypes: ReadonlySet<string>;

  constructor(
    private readonly nc: NatsConnection,
    private readonly ns: Namespace,
    private readonly opts: {
      maxInFlightPublishes: number;
      publishTimeoutMs: number;
      now: () => number;
      /** fires of these nodes (`_any`: no node) or types go out as JSON (options.ts jsonFires) */
      jsonFires?: { nodes: readonly string[]; types: readonly string[] };
    },
  ) {
    this.window = new Window(opts.maxInFlightPublishes);
    this.mux = new PubAckMux(nc, opts.publishTimeoutMs);
    this.jsonNodes = new Set(opts.jsonFires?.nodes);
    this.jsonTypes = new Set(opts.jsonFires?.types);
  }

  /**
   * Encodes fires ahead of their instant (the ticker wakes early for this): at the instant only the socket
   * writes remain. `firedAtMs` is the dispatch time written into the messages (the due instant).
   */
  async prepare(batch: FireToPublish[], epoch: number, firedAtMs: number): Promise<PreparedFire[]> {
    const firedAt = new Date(firedAtMs).toISOString();
    const out: PreparedFire[] = [];
    for (const item of batch) {
      if (out.length % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
      out.push(this.prepareOne(item, epoch, firedAt));
    }
    return out;
  }

  private prepareOne(item: FireToPublish, epoch: number, firedAt: string): PreparedFire {
    const msg = buildFireMessage(item.record, item.fire, epoch, firedAt, item.revision);
    const { def } = item.record;
    const json = this.jsonNodes.has(def.nodeName ?? ANY_NODE) || this.jsonTypes.has(def.type);
    const span = tracingOn() ? this.fireSpan(item.record, msg) : undefined;
    const trace = span ? carrierOf(otelTrace.setSpan(otelContext.active(), span)) : undefined;
    return {
      subject: fireSubjectOf(this.ns, def),
      data: encode(msg, json ? "json" : "msgpack"),
      headers: fireHeaders(
        fireMsgId(msg.fireId, msg.attempt),
        epoch,
        msg.nominalTime,
        msg.fireId,
        json ? JSON_TYPE : MSGPACK,
        trace,
      ),
      fireId: msg.fireId,
      ...(span ? { span } : {}),
    };
  }

  /**
   * The fire's span: a once job's descends from its queue (a retry is one more span in that trace), a
   * recurring job's fire starts a new trace linked to the job's creation; a manual trigger descends from
   * the trigger request when that carried a trace.
   */
  private fireSpan(record: JobRecord, msg: FireMessage): Span {
    const stored = record.state.trace;
    const once = record.def.jobType === "once";
    const active = otelContext.active();
    const fromRequest = msg.reason === "trigger" && otelTrace.getSpan(active) !== undefined;
    const parent = fromRequest ? active : contextOf(once ? stored : undefined);
    return startSpan(
      msg.reason === "retry" ? "taskjet.retry" : "taskjet.fire",
      parent,
      {
        ...jobAttributes(record.def),
        "taskjet.fire.id": msg.fireId,
        "taskjet.fire.attempt": msg.attempt,
        "taskjet.fire.reason": msg.reason,
        "taskjet.fire.nominal_time": msg.nominalTime,
      },
      { kind: SpanKind.PRODUCER, links: once || fromRequest ? [] : linkTo(stored) },
    );
  }

  /**
   * Publishes prepared fires concurrently. `issued` resolves once every message is handed to the connection
   * (the window may hold that back), `acked` with one outcome per fire, in order. `mayPublish` is the fencing
   * check, asked before each message: when it says no, the rest of the batch is withheld (outcome: error).
   */
  send(
    batch: PreparedFire[],
    mayPublish: () => boolean,
  ): { issued: Promise<void>; acked: Promise<PublishOutcome[]> } {
    const pending: Promise<PublishOutcome>[] = [];
    const issued = (async () => {
      let n = 0;
      for (const p of batch) {
        // no await while the window has room: the batch goes out in a few large socket writes; but give
        // timers (the lease renewal!) a turn every few thousand messages
        if (++n % YIELD_EVERY === 0) await yieldToLoop();
        if (!this.window.tryAcquire()) await this.window.acquire();
        if (!mayPublish()) {
          this.window.release();
          p.span?.end();
          pending.push(
            Promise.resolve({ ok: false, error: new Error("not the leader any more: fire withheld") }),
          );
          continue;
        }
        pending.push(
          this.mux.publish(p.subject, p.data, p.headers).then(
            (ack): PublishOutcome => {
              this.window.release();
              if (p.span) {
                p.span.setAttribute("taskjet.fire.duplicate", ack.duplicate);
                p.span.end();
              }
              return { ok: true, duplicate: ack.duplicate, fireId: p.fireId };
            },
            (error: unknown): PublishOutcome => {
              this.window.release();
              if (p.span) {
                failSpan(p.span, error);
                p.span.end();
              }
              return { ok: false, error };
            },
          ),
        );
      }
    })();
    return { issued, acked: issued.then(() => Promise.all(pending)) };
  }

  /** Prepares and sends at once (fires outside the heap: triggers, buffered releases); resolves when acked. */
  async publishBatch(
    batch: FireToPublish[],
    epoch: number,
    mayPublish: () => boolean,
  ): Promise<PublishOutcome[]> {
    return this.send(await this.prepare(batch, epoch, this.opts.now()), mayPublish).acked;
  }

  close(): void {
    this.mux.close();
  }

  /** Publishes one fire outside the schedule (API trigger); throws when the publish fails. */
  async publishNow(
    record: JobRecord,
    revision: number,
    fire: PlannedFire,
    epoch: number,
  ): Promise<{ fireId: string; duplicate: boolean }> {
    const [outcome] = await this.publishBatch([{ record, fire, revision }], epoch, () => true);
    if (!outcome || !outcome.ok) throw outcome?.error ?? new Error("publish failed");
    return { fireId: outcome.fireId, duplicate: outcome.duplicate };
  }

  /** Interrupts the job's runs: one message per recorded run, or one for the whole job when none is recorded. */
  interrupt(record: JobRecord, reason: InterruptReason): number {
    const { def, state } = record;
    const runs = state.running ?? [];
    const targets: { node: string; fireId: string }[] =
      runs.length > 0
        ? runs.map((r) => ({ node: r.node || def.nodeName || ALL_NODES, fireId: r.fireId }))
        : [{ node: def.nodeName ?? ALL_NODES, fireId: "*" }];
    return this.sendInterrupts(def, reason, targets);
  }

  /**
   * Interrupts all of a job (pause, stop, remove): every run, and every worker's copy of the job, whether
   * anything runs or not. One message to the job's node (or every node), and one to each other node a
   * recorded run is on.
   */
  interruptJob(record: JobRecord, reason: InterruptReason): number {
    const { def, state } = record;
    const nodes = new Set([def.nodeName ?? ALL_NODES]);
    for (const r of state.running ?? []) nodes.add(r.node || def.nodeName || ALL_NODES);
    return this.sendInterrupts(
      def,
      reason,
      [...nodes].map((node) => ({ node, fireId: "*" })),
    );
  }

  private sendInterrupts(
    def: JobRecord["def"],
    reason: InterruptReason,
    targets: { node: string; fireId: string }[],
  ): number {
    const h = natsHeaders();
    h.set(Headers.ContentType, MSGPACK);
    for (const t of targets) {
      const body: InterruptMessage = { jobId: def.id, tenantId: def.tenantId, fireId: t.fireId, reason };
      this.nc.publish(this.ns.ctl(t.node), encode(body), { headers: h });
    }
    return targets.length;
  }
}
