/**
 * JetStream publish without the per-request overhead of `js.publish`: every message is a core NATS publish
 * with a reply subject on @taskjet/nats' RequestMux (one inbox subscription, one sweeping timer), and the
 * stream's PubAck (JSON `{stream, seq, duplicate?}` or `{error}`) is read here. nats.js builds an Error with
 * a stack trace for every request and flushes around each await; at 10k fires a second that alone cost more
 * than a core. Messages go out at once (directPublisher): the dispatcher writes a batch in one synchronous
 * loop, so it is one socket write at the instant, not one turn of the event loop later.
 */
import type { Msg, MsgHdrs, NatsConnection } from "@nats-io/nats-core";
import { directPublisher, RequestMux } from "@taskjet/nats";

export interface FastAck {
  stream: string;
  seq: number;
  duplicate: boolean;
}

const decoder = new TextDecoder();

const SEQ = /"seq":\s*(\d+)/;
const STREAM = /"stream":\s*"([^"]*)"/;
const DUPLICATE = /"duplicate":\s*true/;

/** A stream's reply to a publish: the ack, or an Error naming what the stream refused. */
export function parsePubAck(m: Msg): FastAck {
  if (m.headers?.hasError) {
    throw new Error(
      `publish failed: ${m.headers.code} ${m.headers.description || "no stream for the subject"}`,
    );
  }
  const text = decoder.decode(m.data);
  // the common ack needs no full JSON parse; the server spaces it unevenly (2.9.10 writes
  // {"stream":"s", "seq":1,"duplicate": true}), so every field allows whitespace after its colon
  if (!text.includes('"error"')) {
    const seq = SEQ.exec(text);
    const stream = STREAM.exec(text);
    return { stream: stream?.[1] ?? "", seq: seq ? Number(seq[1]) : 0, duplicate: DUPLICATE.test(text) };
  }
  let r: {
    stream?: string;
    seq?: number;
    duplicate?: boolean;
    error?: { code?: number; err_code?: number; description?: string };
  };
  try {
    r = JSON.parse(text) as typeof r;
  } catch (err) {
    throw new Error(`unreadable publish ack: ${String(err)}`);
  }
  if (r.error) {
    throw new Error(
      `publish failed: ${r.error.description ?? "stream error"} (${r.error.err_code ?? r.error.code})`,
    );
  }
  return { stream: r.stream ?? "", seq: r.seq ?? 0, duplicate: r.duplicate === true };
}

export class PubAckMux {
  private readonly mux: RequestMux;

  constructor(nc: NatsConnection, timeoutMs: number) {
    this.mux = new RequestMux(nc, directPublisher(nc), timeoutMs);
  }

  /** Publishes to a stream subject; resolves with the PubAck, rejects on a stream error or timeout. */
  publish(subject: string, data: Uint8Array, headers: MsgHdrs): Promise<FastAck> {
    return this.mux.request(subject, data, headers).then(parsePubAck);
  }

  close(): void {
    this.mux.close();
  }
}
