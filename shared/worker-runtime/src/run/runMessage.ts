/**
 * One delivered fire and its acknowledgements. The puller reads fires with raw pull requests (see puller.ts),
 * so acks are the JetStream protocol messages sent to the delivery's `$JS.ACK...` reply subject.
 */
import type { Msg, MsgHdrs } from "@nats-io/nats-core";
import { extractTrace, tracingOn, type PublishBatch, type TraceContext } from "@taskjet/nats";

const te = new TextEncoder();
const ACK = te.encode("+ACK");
const WORKING = te.encode("+WPI");
const TERM = te.encode("+TERM");
const NAK = te.encode("-NAK");
const EMPTY = new Uint8Array(0);

export class RunMessage {
  private settled = false;
  private nakd = false;
  /** when it arrived (prefetched messages are handed back before their ack wait runs out) */
  readonly receivedAt = Date.now();

  /** the dispatch subject, `<p>.run.<tenant>.<node|_any>.<type>.p<N>.<jobId>` */
  readonly subject: string;
  /** the payload, until it was decoded (release) */
  data: Uint8Array;
  /** the payload's length, kept after release */
  readonly size: number;
  /** a fast-lane job sent again by its producer after an unknown outcome (protocol RESENT_HEADER) */
  resent = false;
  private raw: Msg | undefined;
  private trace: TraceContext | undefined;
  /** `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>` (or the v2 form with domain) */
  readonly reply: string;

  constructor(
    private readonly out: PublishBatch,
    raw: Msg,
    /** 1 (low) .. 5 (high), from the consumer it came by */
    readonly priority: number,
  ) {
    this.raw = raw;
    this.subject = raw.subject;
    this.data = raw.data;
    this.size = raw.data.length;
    this.reply = raw.reply ?? "";
  }

  /** Parsed on first use only (nats.js parses headers lazily; most fires never need them). */
  get headers(): MsgHdrs | undefined {
    return this.raw?.headers;
  }

  /**
   * The payload was decoded into a valid fire: drop it and the raw message. A fire is held up to leadMs
   * before its instant, and thousands of them a second kept alive with their buffers make every young
   * generation GC copy them (tens of ms each at 10,000 fires a second).
   */
  release(): void {
    // tracing on: the fire's trace context outlives the payload (the run's span is its child)
    if (tracingOn()) this.trace = extractTrace(this.raw?.headers);
    this.raw = undefined;
    this.data = EMPTY;
  }

  /** The trace context the fire's headers carry (tracing on; ROOT_CONTEXT otherwise). */
  traceContext(): TraceContext {
    return this.trace ?? extractTrace(this.raw?.headers);
  }

  /**
   * When the stream stored the message (ms), from the delivery's reply subject: the acceptance time of a
   * fast-lane job, the same on every redelivery. Now when the reply does not say (not a JetStream delivery).
   */
  get storedAtMs(): number {
    const t = this.reply.split(".");
    // v1: ...<sseq>.<cseq>.<ts>.<pending> (9 tokens); v2: ...<sseq>.<cseq>.<ts>.<pending>.<random> (12)
    const ns = t.length === 9 ? t[7] : t.length >= 12 ? t[9] : undefined;
    // ns past 2^53: cut the digits rather than divide a rounded number
    const ms = ns !== undefined && /^\d{7,}$/.test(ns) ? Number(ns.slice(0, -6)) : NaN;
    return ms > 0 ? ms : Date.now();
  }

  /** JetStream delivery count: 1 on the first delivery, 2+ after a redelivery (ack wait, nak). */
  get delivery(): number {
    const t = this.reply.split(".");
    // v1: $JS.ACK.<stream>.<consumer>.<delivered>...(9 tokens); v2: $JS.ACK.<domain>.<hash>.<stream>.<consumer>.<delivered>...
    const n = Number(t.length === 9 ? t[4] : t[6]);
    return Number.isFinite(n) && n > 0 ? n : 1;
  }

  get isSettled(): boolean {
    return this.settled;
  }

  /** True once this copy was handed back (nak): whoever gets it next may run it. */
  get handedBack(): boolean {
    return this.nakd;
  }

  ack(): void {
    this.settle(ACK);
  }

  /** Hands the message back: redelivered at once, or after `delayMs`. */
  nak(delayMs?: number): void {
    if (!this.settled) this.nakd = true;
    if (delayMs && delayMs > 0)
      this.settle(te.encode(`-NAK ${JSON.stringify({ delay: Math.round(delayMs) * 1_000_000 })}`));
    else this.settle(NAK);
  }

  /** Never redelivered (poison). */
  term(): void {
    this.settle(TERM);
  }

  /** In-progress ack: resets the ack wait while the run is alive. */
  working(): void {
    if (this.settled) return;
    this.publish(WORKING);
  }

  private settle(payload: Uint8Array): void {
    if (this.settled) return;
    this.settled = true;
    this.publish(payload);
  }

  private publish(payload: Uint8Array): void {
    // a closed connection drops it: the server redelivers after ack wait, nothing is lost
    this.out.publish(this.reply, payload);
  }
}
