/**
 * A fire's headers, encoded once ahead of the instant in NATS' wire form (`NATS/1.0\r\nKey: value\r\n...`):
 * Nats-Msg-Id, Taskjet-Epoch, Taskjet-Nominal-Time, Taskjet-Fire-Id, Content-Type and, when tracing, the
 * W3C traceparent and tracestate. At the due instant nothing is left but the socket write. Why bytes and
 * not nats.js' `headers()`: @taskjet/nats encodedHeaders.ts.
 */
import { Headers, MSGPACK } from "@taskjet/protocol";
import { headersFromWire, type EncodedHeaders, type TraceCarrier } from "@taskjet/nats";

/** A fire's headers. The values are tokens, numbers and ISO times: never a CR or LF. */
export function fireHeaders(
  msgId: string,
  epoch: number,
  nominalIso: string,
  fireId: string,
  contentType: string = MSGPACK,
  trace?: TraceCarrier,
): EncodedHeaders {
  // W3C values never hold CR or LF either (traceparent is hex and dashes, tracestate printable ASCII)
  const traced = trace
    ? `${Headers.TraceParent}: ${trace.traceparent}\r\n` +
      (trace.tracestate ? `${Headers.TraceState}: ${trace.tracestate}\r\n` : "")
    : "";
  return headersFromWire(
    `NATS/1.0\r\n${Headers.MsgId}: ${msgId}\r\n${Headers.Epoch}: ${epoch}\r\n${Headers.Nominal}: ${nominalIso}` +
      `\r\n${Headers.FireId}: ${fireId}\r\n${Headers.ContentType}: ${contentType}\r\n${traced}\r\n`,
  );
}
