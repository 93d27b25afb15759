/**
 * Request/reply with the protocol's codec and envelope. A server decodes by the request's Content-Type (sniffed when absent),
 * answers in the same encoding, and turns anything thrown into a typed error envelope: a bad request never
 * crashes the process and never goes unanswered. A body nested too deep for the encoders is refused at
 * decoding (INVALID_ARGUMENT, protocol limits.ts), before the handler sees it.
 */
import {
  headers as natsHeaders,
  NoRespondersError,
  RequestError,
  TimeoutError as NatsTimeoutError,
  type Msg,
  type NatsConnection,
  type Subscription,
} from "@nats-io/nats-core";
import {
  CONTENT_TYPE_HEADER,
  contentTypeOf,
  decode,
  decodeRequest,
  encode,
  encodingOf,
  errorReply,
  okReply,
  requestEncodingOf,
  TimeoutError,
  UnavailableError,
  unwrapReply,
  type Encoding,
} from "@taskjet/protocol";
import { extractTrace, injectTrace, otelContext, tracingOn } from "./tracing.js";

export type RequestHandler = (body: unknown, msg: Msg) => Promise<unknown> | unknown;

/** Serves `subject` (wildcards allowed) in a queue group; returns the subscription. */
export function serveRequests(
  nc: NatsConnection,
  subject: string,
  handler: RequestHandler,
  opts: { queue?: string; onError?: (err: unknown, msg: Msg) => void } = {},
): Subscription {
  return nc.subscribe(subject, {
    ...(opts.queue ? { queue: opts.queue } : {}),
    callback: (err, msg) => {
      if (err) return;
      void answer(msg, handler, opts.onError);
    },
  });
}

async function answer(msg: Msg, handler: RequestHandler, onError?: (err: unknown, msg: Msg) => void) {
  let encoding: Encoding = "json";
  let reply: unknown;
  try {
    encoding = requestEncodingOf(msg.headers?.get(CONTENT_TYPE_HEADER), msg.data);
    const body = decodeRequest(msg.data, encoding);
    // the caller's trace context, when tracing is on: the handler's spans join the caller's trace
    const result = tracingOn()
      ? await otelContext.with(extractTrace(msg.headers), () => handler(body, msg))
      : await handler(body, msg);
    reply = okReply(result ?? null);
  } catch (err) {
    onError?.(err, msg);
    reply = errorReply(err);
  }
  if (!msg.reply) return;
  const h = natsHeaders();
  h.set(CONTENT_TYPE_HEADER, contentTypeOf(encoding));
  try {
    msg.respond(encode(reply, encoding), { headers: h });
  } catch (err) {
    // e.g. a reply over max_payload: answer with the error rather than leave the caller to time out
    onError?.(err, msg);
    try {
      msg.respond(encode(errorReply(err), encoding), { headers: h });
    } catch {
      // nothing more to say on this subject
    }
  }
}

export interface RequestOptions {
  encoding?: Encoding;
  timeoutMs?: number;
}

/** Sends a request and unwraps the envelope: the data, or the typed error the server sent. */
export async function request<T>(
  nc: NatsConnection,
  subject: string,
  body: unknown,
  opts: RequestOptions = {},
): Promise<T> {
  const encoding = opts.encoding ?? "msgpack";
  const h = natsHeaders();
  h.set(CONTENT_TYPE_HEADER, contentTypeOf(encoding));
  injectTrace(h);
  let msg: Msg;
  try {
    msg = await nc.request(subject, encode(body, encoding), {
      timeout: opts.timeoutMs ?? 10_000,
      headers: h,
    });
  } catch (err) {
    // nats.js: no responders is a RequestError caused by NoRespondersError; a timeout is its TimeoutError
    if ((err instanceof RequestError && err.isNoResponders()) || err instanceof NoRespondersError) {
      throw new UnavailableError(`nobody serves ${subject}: is a taskjet scheduler running?`, { cause: err });
    }
    if (err instanceof NatsTimeoutError) {
      throw new TimeoutError(`request to ${subject} timed out`, { cause: err });
    }
    throw err;
  }
  const replyEncoding = encodingOf(msg.headers?.get(CONTENT_TYPE_HEADER) ?? contentTypeOf(encoding));
  return unwrapReply<T>(decode(msg.data, replyEncoding));
}
