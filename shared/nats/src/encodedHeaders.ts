/**
 * NATS message headers encoded once in their wire form (`NATS/1.0\r\nKey: value\r\n...\r\n`), for messages
 * sent at thousands a second: a scheduler's fires (its fireHeaders.ts), a worker's events and run-log
 * entries, the fast lane's job messages, the lean KV's compare-and-set writes.
 *
 * Why not a MsgHdrs from nats.js' `headers()`: every `set()` canonicalises and checks its key and value, and
 * nats.js encodes the whole map again at each publish. bench/fire-headers.mjs measured 6.6 µs per fire with
 * `headers()` and five `set()` calls against 5.0 µs with these bytes; a worker event with seven headers paid
 * more (bench/RESULTS.md, twelfth session).
 *
 * EncodedHeaders implements nats.js' public MsgHdrs interface: reads parse the bytes on first use, with
 * nats.js' own MsgHdrsImpl.decode; writes throw (the headers are final, so one instance may go with many
 * messages); nats.js' publish asks only for the wire form (`encode()`, what MsgHdrsImpl answers too).
 * test/encodedHeaders.test.ts checks that they are byte for byte what `headers()` would encode, and that a
 * subscriber receives them as sent, so an upgrade of nats.js that asks anything else fails there.
 */
import { MsgHdrsImpl, type Match, type MsgHdrs } from "@nats-io/nats-core";

const te = new TextEncoder();
const final = (k: string) => new TypeError(`these headers are encoded once and final (changing ${k})`);

export class EncodedHeaders implements MsgHdrs {
  // no status line: these are a publisher's headers
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

/** A header name: printable ASCII but the colon (nats.js' rule for names, RFC 7230's token is narrower). */
const NAME = /^[!-9;-~]+$/;
/** A value must not break its line. */
const BREAKS = /[\r\n]/;

/**
 * Headers from name/value pairs, in order. A name outside printable ASCII (or with a colon) or a value with
 * a CR or LF is refused with a TypeError, and values are trimmed, as nats.js' MsgHdrs does.
 */
export function encodedHeaders(pairs: ReadonlyArray<readonly [string, string]>): EncodedHeaders {
  // none: nothing on the wire, as nats.js encodes an empty MsgHdrs
  if (pairs.length === 0) return new EncodedHeaders(new Uint8Array(0));
  let wire = "NATS/1.0\r\n";
  for (const [k, v] of pairs) {
    if (!NAME.test(k)) throw new TypeError(`invalid header name ${JSON.stringify(k)}`);
    if (BREAKS.test(v)) throw new TypeError(`header ${k}: a value may not hold CR or LF`);
    wire += `${k}: ${v.trim()}\r\n`;
  }
  return new EncodedHeaders(te.encode(`${wire}\r\n`));
}

/** Headers whose wire form the caller built (`NATS/1.0\r\n` ... `\r\n\r\n`) from values that hold no CR/LF. */
export function headersFromWire(wire: string): EncodedHeaders {
  return new EncodedHeaders(te.encode(wire));
}
