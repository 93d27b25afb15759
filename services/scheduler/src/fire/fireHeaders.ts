/**
 * A fire's headers, encoded once ahead of the instant in NATS' wire form (`NATS/1.0\r\nKey: value\r\n...`):
 * Nats-Msg-Id, Taskjet-Epoch, Taskjet-Nominal-Time, Taskjet-Fire-Id, Content-Type and, when tracing, the
 * W3C traceparent and tracestate. At the due instant nothing is left but the socket write.
 *
 * Why not a MsgHdrs from nats.js' `headers()`: bench/fire-headers.mjs (2026-12-07, 10,000 fires built and
 * published, client CPU, median of 3 interleaved runs on a shared 2-core machine under load, so noisy: two
 * sides that publish alike differed by 0.8 us) measured 6.6 us per fire with `headers()` and five `set()`
 * calls against 5.0 us with these bytes (+1.6 us, 1.32x: over the 1.5 us we allowed, if narrowly);
 * MsgHdrsImpl.fromRecord cost 4.4 us in all, but 1.2 us more of it at the instant, where nats.js encodes a
 * MsgHdrs (10,000 fires: some 12 ms more in the instant's loop, which the bytes exist to keep short).
 *
 * EncodedHeaders implements nats.js' public MsgHdrs interface (reads parse the bytes on first use, with
 * nats.js' own MsgHdrsImpl.decode; writes throw: a fire's headers are final; nothing on the publish path
 * reads them) and gives nats.js the bytes
 * when its publish asks the headers for their wire form (`encode()`, what MsgHdrsImpl answers too).
 * fireHeaders.test.ts checks that a subscriber receives them as sent, and byte for byte what `headers()`
 * would encode, so an upgrade of nats.js that asks anything else fails there.
 */
import { MsgHdrsImpl, type Match, type MsgHdrs } from "@nats-io/nats-core";
import { Headers, MSGPACK } from "@taskjet/protocol";
import type { TraceCarrier } from "@taskjet/nats";

const te = new TextEncoder();
const final = (k: string) => new TypeError(`a fire's headers are encoded once and final (changing ${k})`);

export class EncodedHeaders implements MsgHdrs {
  // a fire's headers carry no status line
  readonly code = 0;
  readonly description = "";
  readonly hasError = false;
  readonly status = "";
  private parsed: MsgHdrs | undefined;

  constructor(private readonly bytes: Uint8Array) {}

  /** The wire form, as nats.js' publish asks for it. */
  encode(): Uint8Array {
    return this.bytes;
  }

  values(k: string, match?: Match): string[] {
    this.parsed ??= MsgHdrsImpl.decode(this.bytes);
    return this.parsed.values(k, match);
  }
  get(k: string, match?: Match): string {
    return this.values(k, match)[0] ?? "";
  }
  last(k: string, match?: Match): string {
    return this.values(k, match).at(-1) ?? "";
  }
  has(k: string, match?: Match): boolean {
    return this.values(k, match).length > 0;
  }
  keys(): string[] {
    return [...this].map(([k]) => k);
  }
  [Symbol.iterator](): Iterator<[string, string[]]> {
    this.parsed ??= MsgHdrsImpl.decode(this.bytes);
    return this.parsed[Symbol.iterator]();
  }
  set(k: string, _v: string, _match?: Match): void {
    throw final(k);
  }
  append(k: string, _v: string, _match?: Match): void {
    throw final(k);
  }
  delete(k: string, _match?: Match): void {
    throw final(k);
  }
}

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
  return new EncodedHeaders(
    te.encode(
      `NATS/1.0\r\n${Headers.MsgId}: ${msgId}\r\n${Headers.Epoch}: ${epoch}\r\n${Headers.Nominal}: ${nominalIso}` +
        `\r\n${Headers.FireId}: ${fireId}\r\n${Headers.ContentType}: ${contentType}\r\n${traced}\r\n`,
    ),
  );
}
