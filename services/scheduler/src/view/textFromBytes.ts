/**
 * Strings and ISO times read straight from UTF-8 bytes, for the msgpack cursor (msgpackCursor.ts).
 *
 * A cold load meets the same keys and low-cardinality values (types, zones, crons, policies) a million
 * times: pooling decodes each distinct one once and keeps one string for all of them rather than a million
 * copies. Times in toISOString's form are read digit by digit, with no string made on the way to ms.
 */

/** Fatal: bytes that are not UTF-8 throw, and the scan hands the record to the full decoder instead. */
export const utf8 = new TextDecoder("utf-8", { fatal: true });

/** One string per distinct byte sequence: keys and low-cardinality values are decoded once. */
const POOL_SLOTS = 4096;
const poolBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(POOL_SLOTS);
const poolStrings: string[] = new Array<string>(POOL_SLOTS);

export function pooled(b: Uint8Array, start: number, len: number): string {
  let h = len;
  for (let i = start; i < start + len; i++) h = (Math.imul(h, 31) + b[i]!) | 0;
  const slot = h & (POOL_SLOTS - 1);
  const known = poolBytes[slot];
  if (known !== undefined && known.length === len) {
    let same = true;
    for (let i = 0; i < len; i++) {
      if (known[i] !== b[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return poolStrings[slot]!;
  }
  const s = utf8.decode(b.subarray(start, start + len));
  if (len <= 64) {
    poolBytes[slot] = b.slice(start, start + len);
    poolStrings[slot] = s;
  }
  return s;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
// NaN, not a sentinel number: one bad digit must fail every range check below, wherever it sits
const digit = (b: Uint8Array, i: number): number => {
  const d = b[i]! - 48;
  return d >= 0 && d <= 9 ? d : NaN;
};

/** `YYYY-MM-DDTHH:MM:SS.sssZ` (toISOString's form) to ms; anything else through Date.parse. */
export function isoBytesMs(b: Uint8Array, start: number, len: number): number {
  if (
    len === 24 &&
    b[start + 4] === 45 &&
    b[start + 7] === 45 &&
    b[start + 10] === 84 &&
    b[start + 23] === 90
  ) {
    const n2 = (i: number) => digit(b, start + i) * 10 + digit(b, start + i + 1);
    const year = n2(0) * 100 + n2(2);
    const month = n2(5);
    const day = n2(8);
    const hour = n2(11);
    const minute = n2(14);
    const second = n2(17);
    const ms = digit(b, start + 20) * 100 + n2(21);
    const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 1 : 0;
    if (
      b[start + 13] === 58 &&
      b[start + 16] === 58 &&
      b[start + 19] === 46 &&
      year >= 1000 &&
      month >= 1 &&
      month <= 12 &&
      day >= 1 &&
      day <= DAYS[month - 1]! + leap &&
      hour >= 0 &&
      hour <= 23 &&
      minute >= 0 &&
      minute <= 59 &&
      second >= 0 &&
      second <= 59 &&
      ms >= 0
    ) {
      return Date.UTC(year, month - 1, day, hour, minute, second, ms);
    }
  }
  return Date.parse(utf8.decode(b.subarray(start, start + len)));
}
