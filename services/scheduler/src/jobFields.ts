/**
 * The fields of a stored job the index keeps (see JobEntry), read straight from its msgpack bytes.
 *
 * A cold load decodes a million records. msgpackr builds every `{def, state}` in full (~35 properties,
 * ~1.5 KB of short-lived heap each) only for JobEntry to copy a third of it: 7 s of decoding and most of the
 * load's garbage collection at 1M jobs. `scanJobFields` walks the bytes instead, keeps only the wanted
 * values, pools the repeated strings (types, zones, crons, policies) and reads ISO times straight to ms.
 * It answers `undefined` for anything but the plain shape (unexpected types, nil, extensions, bad bytes):
 * the caller then decodes with msgpackr and uses `fieldsOf`, which gives the same fields, so both paths
 * agree by construction and a malformed value is still reported by the decoder.
 */
import type { JobRecord } from "@taskjet/protocol";

/** Definition fields as a decoded record has them (absent ones stay undefined, as after msgpackr). */
type DefFields = Pick<
  JobRecord["def"],
  | "jobType"
  | "type"
  | "nodeName"
  | "maxCount"
  | "misfirePolicy"
  | "overlapPolicy"
  | "lockTimeoutSeconds"
  | "catchUpWindowSeconds"
  | "cron"
  | "cronDialect"
  | "timeZone"
  | "dstRule"
  | "intervalSeconds"
  | "beginTime"
  | "endTime"
>;

export interface JobFields extends DefFields {
  status: JobRecord["state"]["status"];
  triggerCount: number | undefined;
  tryCount: number | undefined;
  runningCount: number;
  /** times in ms since epoch, NaN when absent */
  createdAtMs: number;
  lastFireMs: number;
  nextRunMs: number;
  retryAtMs: number;
  bufferedMs: number;
  /** retryAt or buffered is present (even when not a valid time) */
  hasRetryOrBuffer: boolean;
}

const isoMs = (iso: string | undefined): number => (iso === undefined ? Number.NaN : Date.parse(iso));

/** The same fields from a decoded record (the slow path, and writes this replica made itself). */
export function fieldsOf({ def, state }: JobRecord): JobFields {
  return {
    jobType: def.jobType,
    type: def.type,
    nodeName: def.nodeName,
    maxCount: def.maxCount,
    misfirePolicy: def.misfirePolicy,
    overlapPolicy: def.overlapPolicy,
    lockTimeoutSeconds: def.lockTimeoutSeconds,
    catchUpWindowSeconds: def.catchUpWindowSeconds,
    cron: def.cron,
    cronDialect: def.cronDialect,
    timeZone: def.timeZone,
    dstRule: def.dstRule,
    intervalSeconds: def.intervalSeconds,
    beginTime: def.beginTime,
    endTime: def.endTime,
    status: state.status,
    triggerCount: state.triggerCount,
    tryCount: state.tryCount,
    runningCount: state.running?.length ?? 0,
    createdAtMs: isoMs(state.createdAt),
    lastFireMs: isoMs(state.lastFireTime),
    nextRunMs: isoMs(state.nextRunTime),
    retryAtMs: isoMs(state.retryAt),
    bufferedMs: isoMs(state.buffered),
    hasRetryOrBuffer: state.retryAt !== undefined || state.buffered !== undefined,
  };
}

/** Not the plain shape: decode with msgpackr instead (thrown inside the scanner, caught at its entry). */
const UNUSUAL = new Error("not the plain job record shape");
/** A field the record does not have: undefined, as the decoder leaves it. */
const ABSENT = undefined as never;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** One string per distinct byte sequence: keys and low-cardinality values are decoded once. */
const POOL_SLOTS = 4096;
const poolBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(POOL_SLOTS);
const poolStrings: string[] = new Array<string>(POOL_SLOTS);

function pooled(b: Uint8Array, start: number, len: number): string {
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
const digit = (b: Uint8Array, i: number): number => {
  const d = b[i]! - 48;
  if (d < 0 || d > 9) return -1000;
  return d;
};

/** `YYYY-MM-DDTHH:MM:SS.sssZ` (toISOString's form) to ms; anything else through Date.parse. */
function isoBytesMs(b: Uint8Array, start: number, len: number): number {
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

// the reader's position; scanJobFields is not re-entered, so one module-level cursor saves a closure per job
let buf: Uint8Array = new Uint8Array(0);
let pos = 0;

function need(n: number): void {
  if (pos + n > buf.length) throw UNUSUAL;
}

function uint(n: 1 | 2 | 4): number {
  need(n);
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + buf[pos++]!;
  return v;
}

function mapLength(): number {
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

function isUndefined(): boolean {
  // msgpackr writes `undefined` as fixext1 type 0 (d4 00 00)
  if (buf[pos] === 0xd4 && buf[pos + 1] === 0 && buf[pos + 2] === 0 && pos + 3 <= buf.length) {
    pos += 3;
    return true;
  }
  return false;
}

function poolStr(): string | undefined {
  const len = strLength();
  if (len < 0) return undefined;
  pos += len;
  return pooled(buf, pos - len, len);
}

function plainStr(): string | undefined {
  const len = strLength();
  if (len < 0) return undefined;
  pos += len;
  return utf8.decode(buf.subarray(pos - len, pos));
}

/** An ISO time to ms: NaN when absent; `present` tells absent from unparsable. */
let present = false;
function timeMs(): number {
  const len = strLength();
  present = len >= 0;
  if (len < 0) return Number.NaN;
  pos += len;
  return isoBytesMs(buf, pos - len, len);
}

function num(): number | undefined {
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
function skip(): void {
  need(1);
  const t = buf[pos++]!;
  if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) return;
  if (t >= 0xa0 && t <= 0xbf) return skipBytes(t & 0x1f);
  if (t >= 0x80 && t <= 0x8f) return skipItems(2 * (t & 0x0f));
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
    case 0xc7:
      return skipBytes(uint(1) + 1);
    case 0xc8:
      return skipBytes(uint(2) + 1);
    case 0xc9:
      return skipBytes(uint(4) + 1);
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
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
      return skipBytes(1 + (1 << (t - 0xd4)));
    case 0xdc:
      return skipItems(uint(2));
    case 0xdd:
      return skipItems(uint(4));
    case 0xde:
      return skipItems(2 * uint(2));
    case 0xdf:
      return skipItems(2 * uint(4));
  }
  throw UNUSUAL; // 0xc1 is reserved
}

function skipBytes(n: number): void {
  need(n);
  pos += n;
}

function skipItems(n: number): void {
  for (let i = 0; i < n; i++) skip();
}

/** The number of items of the array at `pos`, moving past it. */
function arrayLength(): number {
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

/** The index's fields of a stored job, or undefined when the bytes are not the plain shape (see the header). */
export function scanJobFields(bytes: Uint8Array): JobFields | undefined {
  buf = bytes;
  pos = 0;
  const f: JobFields = {
    jobType: ABSENT,
    type: ABSENT,
    nodeName: ABSENT,
    maxCount: ABSENT,
    misfirePolicy: ABSENT,
    overlapPolicy: ABSENT,
    lockTimeoutSeconds: ABSENT,
    catchUpWindowSeconds: ABSENT,
    cron: ABSENT,
    cronDialect: ABSENT,
    timeZone: ABSENT,
    dstRule: ABSENT,
    intervalSeconds: ABSENT,
    beginTime: ABSENT,
    endTime: ABSENT,
    status: ABSENT,
    triggerCount: ABSENT,
    tryCount: ABSENT,
    runningCount: 0,
    createdAtMs: Number.NaN,
    lastFireMs: Number.NaN,
    nextRunMs: Number.NaN,
    retryAtMs: Number.NaN,
    bufferedMs: Number.NaN,
    hasRetryOrBuffer: false,
  };
  try {
    let def = false;
    let state = false;
    for (let n = mapLength(); n > 0; n--) {
      const key = poolStr();
      if (key === "def") {
        scanDef(f);
        def = true;
      } else if (key === "state") {
        scanState(f);
        state = true;
      } else skip();
    }
    return def && state && pos === buf.length ? f : undefined;
  } catch {
    // Unusual, or bytes the strict UTF-8 decoder refused: the slow path decides
    return undefined;
  } finally {
    buf = new Uint8Array(0);
  }
}

function scanDef(f: JobFields): void {
  for (let n = mapLength(); n > 0; n--) {
    switch (poolStr()) {
      case "jobType":
        f.jobType = poolStr() as JobFields["jobType"];
        break;
      case "type":
        f.type = poolStr() as JobFields["type"];
        break;
      case "nodeName":
        f.nodeName = poolStr() as JobFields["nodeName"];
        break;
      case "maxCount":
        f.maxCount = num() as JobFields["maxCount"];
        break;
      case "misfirePolicy":
        f.misfirePolicy = poolStr() as JobFields["misfirePolicy"];
        break;
      case "overlapPolicy":
        f.overlapPolicy = poolStr() as JobFields["overlapPolicy"];
        break;
      case "lockTimeoutSeconds":
        f.lockTimeoutSeconds = num() as JobFields["lockTimeoutSeconds"];
        break;
      case "catchUpWindowSeconds":
        f.catchUpWindowSeconds = num() as JobFields["catchUpWindowSeconds"];
        break;
      case "cron":
        f.cron = poolStr() as JobFields["cron"];
        break;
      case "cronDialect":
        f.cronDialect = poolStr() as JobFields["cronDialect"];
        break;
      case "timeZone":
        f.timeZone = poolStr() as JobFields["timeZone"];
        break;
      case "dstRule":
        f.dstRule = poolStr() as JobFields["dstRule"];
        break;
      case "intervalSeconds":
        f.intervalSeconds = num() as JobFields["intervalSeconds"];
        break;
      case "beginTime":
        f.beginTime = plainStr();
        break;
      case "endTime":
        f.endTime = plainStr();
        break;
      default:
        skip();
    }
  }
}

function scanState(f: JobFields): void {
  for (let n = mapLength(); n > 0; n--) {
    switch (poolStr()) {
      case "status":
        f.status = poolStr() as JobFields["status"];
        break;
      case "triggerCount":
        f.triggerCount = num();
        break;
      case "tryCount":
        f.tryCount = num();
        break;
      case "running":
        if (!isUndefined()) f.runningCount = arrayLength();
        break;
      case "createdAt":
        f.createdAtMs = timeMs();
        break;
      case "lastFireTime":
        f.lastFireMs = timeMs();
        break;
      case "nextRunTime":
        f.nextRunMs = timeMs();
        break;
      case "retryAt":
        f.retryAtMs = timeMs();
        f.hasRetryOrBuffer ||= present;
        break;
      case "buffered":
        f.bufferedMs = timeMs();
        f.hasRetryOrBuffer ||= present;
        break;
      default:
        skip();
    }
  }
}
