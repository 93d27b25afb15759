/**
 * The one reader of a stream's reply to a publish sent as a plain request (RequestMux: the scheduler's
 * fires, the worker's run-log appends, the lean KV's compare-and-set writes), with nats.js' error types:
 *
 *   {"stream":"run", "seq":1,"duplicate": true}                      the ack
 *   {"error":{"code":400,"err_code":10071,"description":"..."}}      JetStreamApiError (code = err_code)
 *   empty body, status 503 header                                    NoRespondersError (no stream took it)
 *   empty body, another status header                                JetStreamError (nats.js exports no
 *                                                                    typed error for a publish status)
 *
 * The common ack is read without a JSON parse (it is on the firing path, 10k a second); the server spaces
 * it unevenly (2.9.10 writes `{"stream":"s", "seq":1,"duplicate": true}`), so every field allows whitespace
 * after its colon.
 */
import { JetStreamApiError, JetStreamError, type ApiError } from "@nats-io/jetstream";
import { NoRespondersError, type Msg } from "@nats-io/nats-core";

export interface PubAckReply {
  stream: string;
  seq: number;
  duplicate: boolean;
}

const decoder = new TextDecoder();

const SEQ = /"seq":\s*(\d+)/;
const STREAM = /"stream":\s*"([^"]*)"/;
const DUPLICATE = /"duplicate":\s*true/;

/**
 * A stream's reply to a publish: the ack, or the typed error the stream (or server) answered. `subject`, the
 * subject published to, only names it in errors (a hot caller may leave it out rather than make a closure).
 */
export function parsePubAck(m: Msg, subject = "a stream subject"): PubAckReply {
  const h = m.headers;
  if (h?.hasError) {
    if (h.code === 503) throw new NoRespondersError(subject);
    throw new JetStreamError(`publish to ${subject} failed: ${h.code} ${h.description}`);
  }
  const text = decoder.decode(m.data);
  if (!text.includes('"error"')) {
    const seq = SEQ.exec(text);
    const stream = STREAM.exec(text);
    if (seq && stream) {
      return { stream: stream[1]!, seq: Number(seq[1]), duplicate: DUPLICATE.test(text) };
    }
  }
  let r: Partial<PubAckReply> & { error?: ApiError };
  try {
    r = JSON.parse(text) as typeof r;
  } catch (err) {
    throw new JetStreamError(`unreadable reply to a publish to ${subject}: ${JSON.stringify(text)}`, {
      cause: err,
    });
  }
  if (r.error) throw new JetStreamApiError(r.error);
  // nats.js' own check: an ack names its stream
  if (!r.stream) throw new JetStreamError(`invalid ack to a publish to ${subject}: ${JSON.stringify(text)}`);
  return { stream: r.stream, seq: r.seq ?? 0, duplicate: r.duplicate === true };
}
