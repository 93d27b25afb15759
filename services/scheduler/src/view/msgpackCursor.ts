/**
 * A forward-only msgpack reader over one buffer, for scanners that want a few fields of a record without
 * decoding all of it (jobFields.ts). It reads the plain shapes msgpackr writes: maps, arrays, strings,
 * integers, float64 and msgpackr's `undefined`. Anything else (nil, float32, other extensions, bytes that
 * run out or are not UTF-8) throws, and the scanner leaves the record to the full decoder, which decides.
 * `skip` passes over nil, booleans, bin and float32 too, but over no extension but `undefined` (the decoder
 * refuses unknown ones) and no map with a map, array or bytes as a key (the decoder refuses those). test/msgpackCursor.property.test.ts holds all of this to msgpackr's answers.
 *
 *   openCursor(bytes);
 *   try {
 *     for (let n = mapLength(); n > 0; n--) if (poolStr() === "wanted") value = num(); else skip();
 *     return cursorAtEnd() ? value : undefined;
 *   } catch {
 *     return undefined;
 *   } finally {
 *     closeCursor();
 *   }
 */
import { isoBytesMs, pooled, utf8 } from "./textFromBytes.js";

/**
 * Not the plain shape: decode with msgpackr instead (thrown here, or by a scanner that finds a shape it does
 * not read, and caught at the scanner's entry).
 */
export const UNUSUAL = new Error("not the plain job record shape");

// the reader's position; a scan is not re-entered, so one module-level cursor saves a closure per record
let buf: Uint8Array = new Uint8Array(0);
let pos = 0;

/** Starts reading `bytes` from their first byte. */
export function openCursor(bytes: Uint8Array): void {
  buf = bytes;
  pos = 0;
}

/** Every byte was read: nothing trails the record. */
export function cursorAtEnd(): boolean {
  return pos === buf.length;
}

/** Lets go of the buffer, so the cursor does not keep the last record alive. */
export function closeCursor(): void {
  buf = new Uint8Array(0);
}

function need(n: number): void {
  if (pos + n > buf.length) throw UNUSUAL;
}

function uint(n: 1 | 2 | 4): number {
  need(n);
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + buf[pos++]!;
  return v;
}

export function mapLength(): number {
  need(1);
  const t = buf[pos++]!;
  if (t >= 0x80 && t <= 0x8f) return t & 0x0f;
  if (t === 0xde) return uint(2);
  if (t === 0xdf) return uint(4);
  throw UNUSUAL;
}

/** The length of the string at `pos` (moved to its first byte), or -1 for msgpackr's `undefined`. */
function strLength(): number {
  need(1);
  const t = buf[pos]!;
  let len: number;
  if (t >= 0xa0 && t <= 0xbf) {
    pos++;
    len = t & 0x1f;
  } else if (t === 0xd9 || t === 0xda || t === 0xdb) {
    pos++;
    len = uint(t === 0xd9 ? 1 : t === 0xda ? 2 : 4);
  } else if (isUndefined()) {
    return -1;
  } else throw UNUSUAL;
  need(len);
  return len;
}

/** Whether a map starts at `pos` (nothing is read). */
export function isMap(): boolean {
  need(1);
  const t = buf[pos]!;
  return (t >= 0x80 && t <= 0x8f) || t === 0xde || t === 0xdf;
}

/** A boolean, or undefined. */
export function bool(): boolean | undefined {
  need(1);
  const t = buf[pos]!;
  if (t === 0xc2 || t === 0xc3) {
    pos++;
    return t === 0xc3;
  }
  if (isUndefined()) return undefined;
  throw UNUSUAL;
}

/** Moves past msgpackr's `undefined` when that is what is at `pos`. */
export function isUndefined(): boolean {
  // msgpackr writes `undefined` as fixext1 type 0 (d4 00 00)
  if (buf[pos] === 0xd4 && buf[pos + 1] === 0 && buf[pos + 2] === 0 && pos + 3 <= buf.length) {
    pos += 3;
    return true;
  }
  return false;
}

/** A string from the pool (keys and low-cardinality values), or undefined. */
export function poolStr(): string | undefined {
  const len = strLength();
  if (len < 0) return undefined;
  pos += len;
  return pooled(buf, pos - len, len);
}

/** A string decoded afresh (values that seldom repeat would only churn the pool), or undefined. */
export function plainStr(): string | undefined {
  const len = strLength();
  if (len < 0) return undefined;
  pos += len;
  return utf8.decode(buf.subarray(pos - len, pos));
}

let present = false;

/** An ISO time to ms: NaN when absent; `timeWasPresent` tells absent from unparsable. */
export function timeMs(): number {
  const len = strLength();
  present = len >= 0;
  if (len < 0) return Number.NaN;
  pos += len;
  return isoBytesMs(buf, pos - len, len);
}

/** Whether the last `timeMs` found a string (a NaN from it may be either). */
export function timeWasPresent(): boolean {
  return present;
}

/** An integer or float64, or undefined. */
export function num(): number | undefined {
  need(1);
  const t = buf[pos++]!;
  if (t <= 0x7f) return t;
  if (t >= 0xe0) return t - 256;
  switch (t) {
    case 0xcc:
      return uint(1);
    case 0xcd:
      return uint(2);
    case 0xce:
      return uint(4);
    case 0xcf:
      return uint(4) * 2 ** 32 + uint(4);
    case 0xd0:
      return (uint(1) << 24) >> 24;
    case 0xd1:
      return (uint(2) << 16) >> 16;
    case 0xd2:
      return uint(4) | 0;
    case 0xd3:
      return (uint(4) | 0) * 2 ** 32 + uint(4);
    case 0xcb: {
      need(8);
      const v = new DataView(buf.buffer, buf.byteOffset + pos, 8).getFloat64(0);
      pos += 8;
      return v;
    }
  }
  pos--;
  if (isUndefined()) return undefined;
  throw UNUSUAL; // nil, float32, strings, ...: the decoder decides
}

/** Moves past one value of any type, checking that it fits. */
export function skip(): void {
  need(1);
  const t = buf[pos++]!;
  if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) return;
  if (t >= 0xa0 && t <= 0xbf) return skipBytes(t & 0x1f);
  if (t >= 0x80 && t <= 0x8f) return skipEntries(t & 0x0f);
  if (t >= 0x90 && t <= 0x9f) return skipItems(t & 0x0f);
  switch (t) {
    case 0xc4:
    case 0xd9:
      return skipBytes(uint(1));
    case 0xc5:
    case 0xda:
      return skipBytes(uint(2));
    case 0xc6:
    case 0xdb:
      return skipBytes(uint(4));
    case 0xca:
      return skipBytes(4);
    case 0xcb:
      return skipBytes(8);
    case 0xcc:
    case 0xd0:
      return skipBytes(1);
    case 0xcd:
    case 0xd1:
      return skipBytes(2);
    case 0xce:
    case 0xd2:
      return skipBytes(4);
    case 0xcf:
    case 0xd3:
      return skipBytes(8);
    case 0xd4:
      pos--;
      if (isUndefined()) return;
      break;
    case 0xdc:
      return skipItems(uint(2));
    case 0xdd:
      return skipItems(uint(4));
    case 0xde:
      return skipEntries(uint(2));
    case 0xdf:
      return skipEntries(uint(4));
  }
  // 0xc1 is reserved; other extensions (timestamps, msgpackr's own types, unknown ones) are the decoder's:
  // it reads some and refuses the rest, and skipping them here would accept a record it refuses
  throw UNUSUAL;
}

function skipBytes(n: number): void {
  need(n);
  pos += n;
}

function skipItems(n: number): void {
  for (let i = 0; i < n; i++) skip();
}

/** Map entries: the decoder (maps as objects) refuses a key that is a map, an array or bytes, so do we. */
function skipEntries(n: number): void {
  for (let i = 0; i < n; i++) {
    need(1);
    const k = buf[pos]!;
    if ((k >= 0x80 && k <= 0x9f) || (k >= 0xdc && k <= 0xdf) || (k >= 0xc4 && k <= 0xc6)) throw UNUSUAL;
    skip();
    skip();
  }
}

/** The number of items of the array at `pos`, moving past it. */
export function arrayLength(): number {
  need(1);
  const t = buf[pos++]!;
  let n: number;
  if (t >= 0x90 && t <= 0x9f) n = t & 0x0f;
  else if (t === 0xdc) n = uint(2);
  else if (t === 0xdd) n = uint(4);
  else throw UNUSUAL;
  skipItems(n);
  return n;
}
