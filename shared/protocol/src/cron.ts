/**
 * Cron expressions: parse, validate and enumerate.
 *
 * Two dialects, chosen per job (`cronDialect`); docs/scheduler.md has the grammar of both side by side:
 * - `quartz` (default, the seed's): Quartz 2.3.2's grammar exactly (quartzSyntax.ts): 6 or 7 fields
 *   `sec min hour dom month dow [year]`, weekdays 1-7 = SUN-SAT, `?` in exactly one day field, `L`, `L-n`,
 *   `LW`, `nW`, `nL`, `n#k`, names, wrap-around ranges. Evaluated by a port of Quartz's own algorithm
 *   (quartzNext.ts), not croner: croner has no `L-n`, `L` as Saturday or wrap-around ranges, and none of its
 *   DST rules is Quartz's.
 * - `standard`: 5 or 6 fields `[sec] min hour dom month dow`; weekdays 0-7 (0 and 7 = SUN); croner.
 *
 * DST (`dstRule`):
 * - `single-value` (default) and `no-wildcard`: croner's fixed-time rule. A fixed-time job whose local time
 *   does not exist runs at the first valid time after the gap; a local time that occurs twice runs once, at
 *   the first occurrence. Interval jobs keep running in real time through both. `single-value` treats only
 *   single values in sec, min and hour as fixed-time; `no-wildcard` also lists and ranges. For the quartz
 *   dialect the same rules are applied by dstLayer.ts.
 * - `quartz` (quartz dialect only): exactly what Quartz does: a local time in a spring gap does not fire
 *   that day; a repeated local time fires at its second occurrence, and the first pass of a repeated hour
 *   gets no fires at all, interval jobs included.
 */
import { Cron, type CronOptions } from "croner";
import { nextWithDstLayer } from "./dstLayer.js";
import { ValidationError } from "./errors.js";
import { parseQuartz } from "./quartzSyntax.js";
import { planQuartz, quartzNext } from "./quartzNext.js";
import { zoneRules } from "./zoneRules.js";

export const cronDialects = ["quartz", "standard"] as const;
export type CronDialect = (typeof cronDialects)[number];
export const dstRules = ["single-value", "no-wildcard", "quartz"] as const;
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
  return {
    paused: true,
    timezone: spec.timeZone,
    mode: "5-or-6-parts",
    fixedTimeRule: spec.dstRule === "no-wildcard" ? "no-wildcard" : "single-value",
  };
}

function fieldCountHint(expression: string): string {
  return expression.trim().split(/\s+/).length === 7
    ? ' (7 fields with a year is Quartz: set cronDialect to "quartz")'
    : "";
}

type NextFn = (afterMs: number) => number | undefined;

/** Which of `next`'s implementations a spec uses; throws a ValidationError for bad input. */
function nextFunction(
  spec: CronSpec,
  expression: string,
  field: string,
): { next: NextFn; firesEver: () => boolean } {
  if (spec.dialect === "quartz") {
    const plan = planQuartz(parseQuartz(expression, field));
    const rules = zoneRules(spec.timeZone);
    const utc = zoneRules("UTC");
    const nextLocal = (wallMs: number) => quartzNext(plan, utc, wallMs);
    // whether the calendar ever matches does not depend on the zone, and UTC needs no offset tables (a
    // never-matching expression walks every month up to 2199)
    const firesEver = () => nextLocal(0) !== undefined;
    if (spec.dstRule === "quartz") return { next: (afterMs) => quartzNext(plan, rules, afterMs), firesEver };
    // the other rules: Quartz's calendar logic on wall times (UTC has no DST), then croner's DST rule
    const fixedTime = spec.dstRule === "single-value" ? plan.q.singleValueTime : plan.q.noWildcardTime;
    return { next: (afterMs) => nextWithDstLayer(nextLocal, rules, afterMs, fixedTime), firesEver };
  }
  if (spec.dstRule === "quartz") {
    throw new ValidationError('dstRule "quartz" reproduces Quartz and needs cronDialect "quartz"', {
      field: "dstRule",
    });
  }
  let cron: Cron;
  try {
    cron = new Cron(expression, croneOptions(spec));
  } catch (err) {
    const reason = err instanceof Error ? err.message.replace(/^CronPattern: /, "") : String(err);
    throw new ValidationError(
      `invalid standard cron expression "${spec.expression}": ${reason}${fieldCountHint(expression)}`,
      { field, cause: err },
    );
  }
  const next: NextFn = (afterMs) => {
    const d = cron.nextRun(new Date(afterMs));
    return d === null ? undefined : d.getTime();
  };
  return { next, firesEver: () => next(0) !== undefined };
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
  const { next, firesEver } = nextFunction(spec, expression, field);
  if (!firesEver()) {
    throw new ValidationError(`cron expression "${spec.expression}" never fires`, { field });
  }
  const schedule: CronSchedule = { spec: { ...spec }, next };
  if (scheduleCache.size >= 10_000) scheduleCache.clear();
  scheduleCache.set(key, schedule);
  return schedule;
}

const scheduleCache = new Map<string, CronSchedule>();

type WallClockField = "year" | "month" | "day" | "hour" | "minute" | "second";

/** The wall-clock time of `ms` in `zone` (24-hour): `year` as digits, the other fields two digits each. */
export function wallClock(zone: string, ms: number): Record<WallClockField, string> {
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
  const get = (type: WallClockField) => parts.find((p) => p.type === type)?.value ?? "0";
  return {
    year: get("year"),
    month: get("month"),
    day: get("day"),
    hour: get("hour"),
    minute: get("minute"),
    second: get("second"),
  };
}

/** UTC offset of `zone` at `ms`, in minutes (east positive). */
export function zoneOffsetMinutes(zone: string, ms: number): number {
  const c = wallClock(zone, ms);
  const asUtc = Date.UTC(
    Number(c.year),
    Number(c.month) - 1,
    Number(c.day),
    Number(c.hour),
    Number(c.minute),
    Number(c.second),
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
