/**
 * Payload codec. msgpack (msgpackr) by default; JSON wherever a message carries
 * `Content-Type: application/json`. Replies go back in the caller's encoding, so any NATS client in any
 * language can speak to taskjet with plain JSON.
 *
 * A request without the header is sniffed (requestEncodingOf): JSON when it starts with `{` or `[`.
 *
 * `decode` is for anything read (fires, events, records); `decodeRequest` is the request edge: it also
 * refuses a body nested deeper than MAX_PAYLOAD_DEPTH with INVALID_ARGUMENT, before anything else touches
 * the value (see limits.ts for why).
 */
import { Packr } from "msgpackr";
import { DecodeError, ValidationError } from "./errors.js";
import { MAX_PAYLOAD_DEPTH, pathDeeperThan, shortPath } from "./limits.js";

export const CONTENT_TYPE_HEADER = "Content-Type";
export const MSGPACK = "application/msgpack";
export const JSON_TYPE = "application/json";
export type Encoding = "msgpack" | "json";

// useRecords=false keeps the output plain msgpack maps that every msgpack library can read.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: "number" });
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

/** The encoding named by a Content-Type header value; msgpack when absent. */
export function encodingOf(contentType: string | undefined | null): Encoding {
  if (!contentType) return "msgpack";
  const base = contentType.split(";")[0]!.trim().toLowerCase();
  if (base === JSON_TYPE || base === "text/json") return "json";
  if (base === MSGPACK || base === "application/x-msgpack" || base === "application/vnd.msgpack") {
    return "msgpack";
  }
  throw new DecodeError(`unsupported Content-Type "${contentType}": use ${MSGPACK} or ${JSON_TYPE}`, {
    field: CONTENT_TYPE_HEADER,
  });
}

/**
 * The encoding of a request: its Content-Type when it has one (encodingOf), else sniffed. A body whose first
 * byte that is not JSON whitespace is `{` or `[` is JSON: a msgpack request is a map (0x80-0x8f, 0xde,
 * 0xdf) or empty, and those bytes as msgpack would be a lone small integer, never a request. So a client
 * that forgets the header still gets its JSON read and its reply in JSON.
 */
export function requestEncodingOf(contentType: string | undefined | null, data: Uint8Array): Encoding {
  if (contentType) return encodingOf(contentType);
  for (const byte of data) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x7b || byte === 0x5b ? "json" : "msgpack";
  }
  return "msgpack";
}

export function contentTypeOf(encoding: Encoding): string {
  return encoding === "json" ? JSON_TYPE : MSGPACK;
}

export function encode(value: unknown, encoding: Encoding = "msgpack"): Uint8Array {
  if (encoding === "json") return textEncoder.encode(JSON.stringify(value ?? null));
  return packr.pack(value);
}

/** Decodes a payload; throws DecodeError (never anything else) for bytes that are not valid in `encoding`. */
export function decode(data: Uint8Array, encoding: Encoding = "msgpack"): unknown {
  if (data.length === 0) return undefined;
  try {
    if (encoding === "json") return JSON.parse(textDecoder.decode(data));
    const value: unknown = packr.unpack(data);
    // 0xC1 is reserved in msgpack; msgpackr returns a marker object instead of failing
    if (value !== null && typeof value === "object" && value.constructor?.name === "C1Type") {
      throw new Error("reserved byte 0xc1");
    }
    return value;
  } catch (err) {
    // say what to send: the usual cause is JSON or text with a wrong or missing Content-Type
    const hint =
      encoding === "msgpack"
        ? ` (send msgpack, or JSON with Content-Type: ${JSON_TYPE})`
        : ` (send JSON, or msgpack with Content-Type: ${MSGPACK})`;
    throw new DecodeError(`payload is not valid ${encoding}: ${(err as Error).message}${hint}`, {
      cause: err,
    });
  }
}

/**
 * Decodes a request body: DecodeError for bytes that are not valid in `encoding`, ValidationError naming
 * the top-level field under which the body nests deeper than MAX_PAYLOAD_DEPTH levels.
 */
export function decodeRequest(data: Uint8Array, encoding: Encoding = "msgpack"): unknown {
  let value: unknown;
  try {
    value = decode(data, encoding);
  } catch (err) {
    // msgpackr recurses: a body thousands of levels deep overflows the stack while it is unpacked
    if ((err as DecodeError).cause instanceof RangeError) throw tooDeep([]);
    throw err;
  }
  assertDepth(value);
  return value;
}

/** Throws the request edge's ValidationError when `value` nests deeper than MAX_PAYLOAD_DEPTH levels. */
export function assertDepth(value: unknown, maxDepth = MAX_PAYLOAD_DEPTH): void {
  const path = pathDeeperThan(value, maxDepth);
  if (path) throw tooDeep(path, maxDepth);
}

function tooDeep(path: readonly (string | number)[], maxDepth = MAX_PAYLOAD_DEPTH): ValidationError {
  const field = path.length > 0 ? String(path[0]) : "(body)";
  const at = path.length > 0 ? ` (at ${shortPath(path)})` : "";
  return new ValidationError(
    `${field}: the request nests deeper than ${maxDepth} levels${at}: flatten the value`,
    { field },
  );
}
