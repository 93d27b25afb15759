/**
 * Payload codec. msgpack (msgpackr) by default; JSON wherever a message carries
 * `Content-Type: application/json`. Replies go back in the caller's encoding, so any NATS client in any
 * language can speak to taskjet with plain JSON.
 */
import { Packr } from "msgpackr";
import { DecodeError } from "./errors.js";

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
    throw new DecodeError(`payload is not valid ${encoding}: ${(err as Error).message}`, { cause: err });
  }
}
