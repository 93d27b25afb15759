/**
 * The fields of a stored job the index keeps (see JobEntry), read straight from its msgpack bytes.
 *
 * A cold load decodes a million records. msgpackr builds every `{def, state}` in full (~35 properties,
 * ~1.5 KB of short-lived heap each) only for JobEntry to copy a third of it: 7 s of decoding and most of the
 * load's garbage collection at 1M jobs. `scanJobFields` walks the bytes instead, keeps only the wanted
 * values, pools the repeated strings (types, zones, crons, policies) and reads ISO times straight to ms
 * (the reading itself is msgpackCursor.ts; this file is which keys go where).
 * It answers `undefined` for anything but the plain shape (unexpected types, nil, extensions, bad bytes):
 * the caller then decodes with msgpackr and uses `fieldsOf`, which gives the same fields, so both paths
 * agree by construction and a malformed value is still reported by the decoder.
 */
import type { JobRecord, Retention } from "@taskjet/protocol";
import {
  arrayLength,
  bool,
  closeCursor,
  cursorAtEnd,
  isMap,
  isUndefined,
  mapLength,
  num,
  openCursor,
  plainStr,
  poolStr,
  skip,
  timeMs,
  timeWasPresent,
  UNUSUAL,
} from "./msgpackCursor.js";

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
  | "removeOnComplete"
  | "removeOnFail"
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
  /** what the retention sweep needs of a finished job, read here so it is not decoded again */
  isAbandoned: boolean | undefined;
  updatedAtMs: number;
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
    removeOnComplete: def.removeOnComplete,
    removeOnFail: def.removeOnFail,
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
    isAbandoned: state.isAbandoned,
    updatedAtMs: isoMs(state.updatedAt),
  };
}

/** A field the record does not have: undefined, as the decoder leaves it. */
const ABSENT = undefined as never;

/** The index's fields of a stored job, or undefined when the bytes are not the plain shape (see the header). */
export function scanJobFields(bytes: Uint8Array): JobFields | undefined {
  openCursor(bytes);
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
    removeOnComplete: ABSENT,
    removeOnFail: ABSENT,
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
    isAbandoned: ABSENT,
    updatedAtMs: Number.NaN,
  };
  try {
    let def = false;
    let state = false;
    for (let n = mapLength(); n > 0; n--) {
      const key = poolStr();
      // a repeated key: the decoder keeps the last whole map, the scan would merge both; the decoder decides
      if (key === "def") {
        if (def) return undefined;
        scanDef(f);
        def = true;
      } else if (key === "state") {
        if (state) return undefined;
        scanState(f);
        state = true;
      } else skip();
    }
    return def && state && cursorAtEnd() ? f : undefined;
  } catch {
    // Unusual, or bytes the strict UTF-8 decoder refused: the slow path decides
    return undefined;
  } finally {
    closeCursor();
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
      case "removeOnComplete":
        f.removeOnComplete = retention();
        break;
      case "removeOnFail":
        f.removeOnFail = retention();
        break;
      default:
        skip();
    }
  }
}

function scanState(f: JobFields): void {
  // a field given twice counts as the decoder counts it: the last one wins
  let retryAt = false;
  let buffered = false;
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
        f.runningCount = isUndefined() ? 0 : arrayLength();
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
        retryAt = timeWasPresent();
        break;
      case "buffered":
        f.bufferedMs = timeMs();
        buffered = timeWasPresent();
        break;
      case "isAbandoned":
        f.isAbandoned = bool();
        break;
      case "updatedAt":
        f.updatedAtMs = timeMs();
        break;
      default:
        skip();
    }
  }
  f.hasRetryOrBuffer = retryAt || buffered;
}

/** A retention setting (protocol RetentionSchema): a boolean or `{ ageSeconds?, count? }`; else UNUSUAL. */
function retention(): Retention | undefined {
  if (!isMap()) return bool();
  const r: { ageSeconds?: number; count?: number } = {};
  for (let n = mapLength(); n > 0; n--) {
    const key = poolStr();
    if (key !== "ageSeconds" && key !== "count") throw UNUSUAL;
    const v = num();
    if (v !== undefined) r[key] = v;
  }
  return r;
}
