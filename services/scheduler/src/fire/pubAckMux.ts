/**
 * JetStream publish without the per-request overhead of `js.publish`: every message is a core NATS publish
 * with a reply subject on @taskjet/nats' RequestMux (one inbox subscription, one sweeping timer), and the
 * stream's PubAck is read by @taskjet/nats' parsePubAck (nats.js' error types, no JSON parse for an ack).
 * nats.js builds an Error with a stack trace for every request and flushes around each await; at 10k fires
 * a second that alone cost more than a core. Messages go out at once (directPublisher): the dispatcher writes a batch in one synchronous
 * loop, so it is one socket write at the instant, not one turn of the event loop later.
 */
import type { MsgHdrs, NatsConnection } from "@nats-io/nats-core";
import { directPublisher, parsePubAck, RequestMux, type PubAckReply } from "@taskjet/nats";

export type FastAck = PubAckReply;

export class PubAckMux {
  private readonly mux: RequestMux;

  constructor(nc: NatsConnection, timeoutMs: number) {
    this.mux = new RequestMux(nc, directPublisher(nc), timeoutMs);
  }

  /** Publishes to a stream subject; resolves with the PubAck, rejects on a stream error or timeout. */
  publish(subject: string, data: Uint8Array, headers: MsgHdrs): Promise<FastAck> {
    // no closure per fire: the error names no subject (the dispatcher knows which fire it was)
    return this.mux.request(subject, data, headers).then(parsePubAck);
  }

  close(): void {
    this.mux.close();
  }
}
