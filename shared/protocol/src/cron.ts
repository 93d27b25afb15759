/**
 * Cron expressions: parse, validate and enumerate with croner.
 *
 * Two dialects, chosen per job (`cronDialect`):
 * - `quartz` (default, the seed's): 6 or 7 fields `sec min hour dom month dow [year]`; weekdays 1-7 = SUN-SAT;
 *   `?`, `L`, `W`, `#`, numeric-prefix steps (`0/5`) and surrounding white space accepted as the seed wrote them.
 * - `standard`: 5 or 6 fields `[sec] min hour dom month dow`; weekdays 0-7 (0 and 7 = SUN).
 *
 * DST (`dstRule`, croner's fixedTimeRule): a fixed-time job whose local time does not exist runs at the first
 * valid time after the gap; a local time that occurs twice runs once, at the first occurrence. Interval jobs
 * (wildcards or steps in sec/min/hour) keep running in real time through both. `single-value` treats only
 * single values in sec, min and hour as fixed-time; `no-wildcard` also treats lists and ranges as fixed-time.
 */
import { Cron, type CronOptions } from "croner";
import { ValidationError } from "./errors.js";

export const cronDialects = ["quartz", "standard"] as const;
export type CronDialect = (typeof cronDialects)[number];
export const dstRules = ["single-value", "no-wildcard"] as const;
export type DstRule = (typeof dstRules)[number];

export interface CronSpec {
  expression: string;
  dialect: CronDialect;
  /** IANA zone name, e.g. `Europe/Berlin`. */
  timeZone: string;
  dstRule: DstRule;
}

/** A compiled schedule. `next(after)` is the first nominal time strictly after `after` (ms since epoch). */
export interface CronSchedule {
  readonly spec: CronSpec;
  next(afterMs: number): number | undefined;
}

const zoneCache = new Map<string, boolean>();

/** True when `zone` is an IANA time zone this runtime knows. */
export function isValidTimeZone(zone: string): boolean {
  let ok = zoneCache.get(zone);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: zone });
      ok = zone.length > 0;
    } catch {
      ok = false;
    }
    zoneCache.set(zone, ok);
  }
  return ok;
}

function croneOptions(spec: CronSpec): CronOptions {
  const quartz = spec.dialect === "quartz";
  return {
    paused: true,
    timezone: spec.timeZone,
    mode: quartz ? "6-or-7-parts" : "5-or-6-parts",
    alternativeWeekdays: quartz,
    sloppyRanges: quartz,
    fixedTimeRule: spec.dstRule,
  };
}

function fieldCountHint(expression: string, dialect: CronDialect): string {
  const n = expression.trim().split(/\s+/).length;
  if (dialect === "quartz" && n === 5) {
    return ' (5 fields is standard cron: set cronDialect to "standard", or add a seconds field)';
  }
  if (dialect === "standard" && n === 7)
    return ' (7 fields with a year is Quartz: set cronDialect to "quartz")';
  return "";
}

/**
 * Compiles a cron spec, or throws a ValidationError naming `field` (default `cron`) or `timeZone`.
 * Compiled schedules are cached: many jobs share a handful of expressions.
 */
export function compileCron(spec: CronSpec, field = "cron"): CronSchedule {
  const key = `${spec.dialect}|${spec.dstRule}|${spec.timeZone}|${spec.expression}`;
  const hit = scheduleCache.get(key);
  if (hit) return hit;
  if (!isValidTimeZone(spec.timeZone)) {
    throw new ValidationError(
      `unknown time zone "${spec.timeZone}": use an IANA name such as Europe/Berlin`,
      {
        field: "timeZone",
      },
    );
  }
  const expression = spec.expression.trim();
  if (expression === "") throw new ValidationError("cron expression is empty", { field });
  if (spec.dialect === "quartz") checkQuartzWeekdays(expression, field);
  let cron: Cron;
  try {
    cron = new Cron(expression, croneOptions(spec));
  } catch (err) {
    const reason = err instanceof Error ? err.message.replace(/^CronPattern: /, "") : String(err);
    throw new ValidationError(
      `invalid ${spec.dialect} cron expression "${spec.expression}": ${reason}${fieldCountHint(expression, spec.dialect)}`,
      { field, cause: err },
    );
  }
  if (cron.nextRun(new Date(0)) === null) {
    throw new ValidationError(`cron expression "${spec.expression}" never fires`, { field });
  }
  const schedule: CronSchedule = {
    spec: { ...spec },
    next(afterMs) {
      const d = cron.nextRun(new Date(afterMs));
      return d === null ? undefined : d.getTime();
    },
  };
  if (scheduleCache.size >= 10_000) scheduleCache.clear();
  scheduleCache.set(key, schedule);
  return schedule;
}

const scheduleCache = new Map<string, CronSchedule>();

/** Quartz weekdays are 1-7; croner would read 0 and 8 as Sunday, which Quartz rejects. */
function checkQuartzWeekdays(expression: string, field: string): void {
  const dow = expression.split(/\s+/)[5];
  if (dow === undefined) return;
  for (const m of dow.matchAll(/(^|[^#/\d])(\d+)/g)) {
    const n = Number(m[2]);
    if (n < 1 || n > 7) {
      throw new ValidationError(
        `invalid quartz cron expression "${expression}": day-of-week ${n} is outside 1-7 (SUN=1 .. SAT=7)`,
        { field },
      );
    }
  }
}

/** UTC offset of `zone` at `ms`, in minutes (east positive). */
export function zoneOffsetMinutes(zone: string, ms: number): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(ms));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(
    get("year"),
    get("month") - 1,
    get("day"),
    get("hour"),
    get("minute"),
    get("second"),
  );
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60_000);
}

export interface FireTime {
  /** ms since epoch */
  at: number;
  /** ISO 8601 in UTC */
  iso: string;
  /** the UTC offset in the job's zone at that time, e.g. `+02:00` */
  offset: string;
  /** set when the zone's UTC offset changed since the previous fire (a DST shift) */
  dstShift?: { fromOffset: string; toOffset: string };
}

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

/** The next `count` fire times after `afterMs`, marking DST shifts (used by `taskjet cron`). */
export function nextFireTimes(spec: CronSpec, count: number, afterMs: number): FireTime[] {
  const schedule = compileCron(spec);
  const out: FireTime[] = [];
  let prevOffset = zoneOffsetMinutes(spec.timeZone, afterMs);
  let t = afterMs;
  for (let i = 0; i < count; i++) {
    const at = schedule.next(t);
    if (at === undefined) break;
    const offset = zoneOffsetMinutes(spec.timeZone, at);
    const fire: FireTime = { at, iso: new Date(at).toISOString(), offset: formatOffset(offset) };
    if (offset !== prevOffset) {
      fire.dstShift = { fromOffset: formatOffset(prevOffset), toOffset: formatOffset(offset) };
    }
    out.push(fire);
    prevOffset = offset;
    t = at;
  }
  return out;
}
