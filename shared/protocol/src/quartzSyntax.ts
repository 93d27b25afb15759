/**
 * The `quartz` dialect's grammar: parses a Quartz cron expression into value sets and flags the way Quartz
 * 2.3.2's CronExpression stores them, accepting exactly the grammar Quartz documents, and rejecting the rest
 * with a ValidationError (field `cron`) that says what Quartz requires.
 *
 *   sec min hour day-of-month month day-of-week [year]      (white space between fields, case-insensitive)
 *
 * | field        | values                 | items                                                        |
 * | ------------ | ---------------------- | ------------------------------------------------------------ |
 * | sec, min     | 0-59                   | `*` `a` `a-b` `*\/n` `/n` `a/n` `a-b/n`, lists of these        |
 * | hour         | 0-23                   | same                                                         |
 * | day-of-month | 1-31                   | same, or alone: `?` `L` `L-n` (n 0-30) `LW` `L-nW` `nW`      |
 * | month        | 1-12 or JAN-DEC        | same; a name only as `NAME` or `NAME-NAME`                   |
 * | day-of-week  | 1-7 = SUN-SAT          | same, or alone: `?` `L` (= 7, SAT) `nL` `n#k` (k 1-5)         |
 * | year         | 1970-2099              | `*` `a` `a-b` `a/n` `a-b/n`, lists                           |
 *
 * A range whose end is below its start wraps (`22-2` = 22,23,0,1,2; `FRI-MON`; `NOV-FEB`), except years.
 * Steps are 1 up to the field's size less one (sec/min 59, hour 23, day-of-month 31, month 12, weekday 7),
 * as Quartz checks for `*\/n` and `a/n`. Exactly one of day-of-month and day-of-week is `?`.
 *
 * Forms Quartz accepts only by accident of its parser (trailing characters it skips: `12X`, `MONDAY`,
 * `1-5W`, `MON/2`; lists with W or #: `15W,20`, `6#3,2`; steps of 0; an eighth field; years past 2099) are
 * rejected here: docs/scheduler.md lists them.
 */
import { ValidationError } from "./errors.js";

export interface QuartzExpression {
  /** sorted values of each field */
  seconds: number[];
  minutes: number[];
  hours: number[];
  /** `undefined` for `?` (Quartz's NO_SPEC) */
  daysOfMonth: number[] | undefined;
  months: number[];
  daysOfWeek: number[] | undefined;
  /** `undefined` for any year */
  years: number[] | undefined;
  lastdayOfMonth: boolean;
  lastdayOffset: number;
  nearestWeekday: boolean;
  lastdayOfWeek: boolean;
  nthdayOfWeek: number;
  /** sec, min and hour are each a single value (the `single-value` DST rule's fixed-time jobs) */
  singleValueTime: boolean;
  /** sec, min and hour have no `*` or step (the `no-wildcard` DST rule's fixed-time jobs) */
  noWildcardTime: boolean;
}

interface FieldSpec {
  label: string;
  min: number;
  max: number;
  /** largest step Quartz allows */
  maxStep: number;
  /** wrap-around modulus of a range (Quartz's addToSet) */
  wrap: number;
  names?: readonly string[];
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const FIELDS: readonly FieldSpec[] = [
  { label: "second", min: 0, max: 59, maxStep: 59, wrap: 60 },
  { label: "minute", min: 0, max: 59, maxStep: 59, wrap: 60 },
  { label: "hour", min: 0, max: 23, maxStep: 23, wrap: 24 },
  { label: "day-of-month", min: 1, max: 31, maxStep: 31, wrap: 31 },
  { label: "month", min: 1, max: 12, maxStep: 12, wrap: 12, names: MONTHS },
  { label: "day-of-week", min: 1, max: 7, maxStep: 7, wrap: 7, names: DAYS },
  { label: "year", min: 1970, max: 2099, maxStep: 129, wrap: 0 },
];
const DOM = 3;
const DOW = 5;
const YEAR = 6;

const NUM = "(\\d{1,4})";
const ITEM = new RegExp(`^(?:(\\*)|${NUM}|([A-Z]{3}))?(?:-(?:${NUM}|([A-Z]{3})))?(?:\\/${NUM})?$`);

class SyntaxProblem extends Error {}

/** Parses a quartz-dialect expression or throws a ValidationError naming `field`. */
export function parseQuartz(expression: string, field = "cron"): QuartzExpression {
  const parts = expression.trim().toUpperCase().split(/\s+/);
  const fail = (why: string): never => {
    throw new ValidationError(`invalid quartz cron expression "${expression}": ${why}`, { field });
  };
  if (parts.length === 5) {
    fail(
      'Quartz needs 6 or 7 fields, got 5 (5 fields is standard cron: set cronDialect to "standard", or add a seconds field)',
    );
  }
  if (parts.length < 6 || parts.length > 7) {
    fail(
      `Quartz needs 6 or 7 fields (sec min hour day-of-month month day-of-week [year]), got ${parts.length}`,
    );
  }
  const out: QuartzExpression = {
    seconds: [],
    minutes: [],
    hours: [],
    daysOfMonth: [],
    months: [],
    daysOfWeek: [],
    years: undefined,
    lastdayOfMonth: false,
    lastdayOffset: 0,
    nearestWeekday: false,
    lastdayOfWeek: false,
    nthdayOfWeek: 0,
    singleValueTime: true,
    noWildcardTime: true,
  };
  const sets: Set<number>[] = FIELDS.map(() => new Set<number>());
  let domAny = false;
  let dowAny = false;
  for (let f = 0; f < parts.length; f++) {
    const spec = FIELDS[f]!;
    const text = parts[f]!;
    try {
      const items = text.split(",");
      if (items.some((i) => i === "")) throw new SyntaxProblem("has an empty list item");
      const special = f === DOM || f === DOW ? specialItem(text, f, out) : false;
      if (special === "?") {
        if (f === DOM) out.daysOfMonth = undefined;
        else out.daysOfWeek = undefined;
        continue;
      }
      if (special) continue;
      if (f === YEAR && text === "*") continue; // any year: out.years stays undefined
      for (const item of items) {
        if ((f === DOM || f === DOW) && items.length > 1 && /[?L#W]/.test(withoutDayNames(item))) {
          throw new SyntaxProblem(
            `has "${item}" in a list: Quartz allows ?, L, W and # only as the field's single value`,
          );
        }
        if (item.includes("?"))
          throw new SyntaxProblem('has "?": Quartz allows it only in day-of-month or day-of-week');
        addItem(item, spec, sets[f]!);
        if (f <= 2) {
          if (!/^\d+$/.test(item)) out.singleValueTime = false;
          if (item.includes("*") || item.includes("/")) out.noWildcardTime = false;
        }
      }
      if (f <= 2 && items.length > 1) out.singleValueTime = false;
      if (f === DOM && text === "*") domAny = true;
      if (f === DOW && text === "*") dowAny = true;
    } catch (err) {
      if (err instanceof SyntaxProblem) fail(`${spec.label} "${parts[f]}" ${err.message}`);
      throw err;
    }
  }
  const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);
  out.seconds = sorted(sets[0]!);
  out.minutes = sorted(sets[1]!);
  out.hours = sorted(sets[2]!);
  if (out.daysOfMonth)
    out.daysOfMonth = out.lastdayOfMonth ? [] : out.daysOfMonth.length ? out.daysOfMonth : sorted(sets[DOM]!);
  out.months = sorted(sets[4]!);
  if (out.daysOfWeek) out.daysOfWeek = out.daysOfWeek.length ? out.daysOfWeek : sorted(sets[DOW]!);
  if (parts.length === 7 && sets[YEAR]!.size > 0) out.years = sorted(sets[YEAR]!);
  if ((out.daysOfMonth === undefined) === (out.daysOfWeek === undefined)) {
    const both = out.daysOfMonth !== undefined;
    const time = parts.slice(0, 3).join(" ");
    const example = dowAny
      ? ` (e.g. "${time} ${parts[3]} ${parts[4]} ?")`
      : domAny
        ? ` (e.g. "${time} ? ${parts[4]} ${parts[5]}")`
        : "";
    fail(
      both
        ? `Quartz requires "?" in exactly one of day-of-month and day-of-week, got "${parts[3]}" and "${parts[5]}"${example}`
        : 'Quartz requires "?" in exactly one of day-of-month and day-of-week, got "?" in both',
    );
  }
  return out;
}

/** `?`, L, W and # forms, which stand alone. Returns "?" , true when handled, false for an ordinary list. */
function specialItem(text: string, f: number, out: QuartzExpression): "?" | boolean {
  if (text === "?") return "?";
  if (text.includes(",")) return false;
  if (f === DOM) {
    let m = /^L(?:-(\d{1,2}))?(W)?$/.exec(text);
    if (m) {
      const offset = m[1] === undefined ? 0 : Number(m[1]);
      if (offset > 30) throw new SyntaxProblem("offset from the last day must be 0-30 (L-n)");
      out.lastdayOfMonth = true;
      out.lastdayOffset = offset;
      out.nearestWeekday = m[2] !== undefined;
      out.daysOfMonth = [];
      return true;
    }
    m = /^(\d{1,2})W$/.exec(text);
    if (m) {
      const day = Number(m[1]);
      if (day < 1 || day > 31) throw new SyntaxProblem("W needs a day of month 1-31 (e.g. 15W)");
      out.nearestWeekday = true;
      out.daysOfMonth = [day];
      return true;
    }
    if (/[LW#?]/.test(text)) {
      throw new SyntaxProblem(
        "is not a Quartz day-of-month: use ?, L, L-n, LW, L-nW or nW alone (W takes a single day, not a range or list), or numbers, ranges and steps",
      );
    }
    return false;
  }
  if (text === "L") {
    out.daysOfWeek = [7];
    return true;
  }
  const m = /^(\d|[A-Z]{3})(?:(L)|#(\d))$/.exec(text);
  if (m) {
    const day = /^\d$/.test(m[1]!) ? Number(m[1]) : DAYS.indexOf(m[1]!) + 1;
    if (day < 1 || day > 7)
      throw new SyntaxProblem(`needs a weekday 1-7 (SUN=1 .. SAT=7) or SUN-SAT before ${m[2] ? "L" : "#"}`);
    if (m[2]) out.lastdayOfWeek = true;
    else {
      const nth = Number(m[3]);
      if (nth < 1 || nth > 5) throw new SyntaxProblem("needs 1-5 after # (e.g. 6#3, the third Friday)");
      out.nthdayOfWeek = nth;
    }
    out.daysOfWeek = [day];
    return true;
  }
  if (/[L#W?]/.test(withoutDayNames(text))) {
    throw new SyntaxProblem(
      "is not a Quartz day-of-week: use ?, L (Saturday), nL (last weekday n of the month) or n#k (k-th weekday n) alone, or weekdays, ranges and steps",
    );
  }
  return false;
}

function withoutDayNames(text: string): string {
  return text.replace(/[A-Z]{3}/g, (n) => (DAYS.includes(n) ? "" : n));
}

function addItem(item: string, spec: FieldSpec, set: Set<number>): void {
  const m = ITEM.exec(item);
  if (!m) throw new SyntaxProblem(`has "${item}", which is not a value, range or step of this field`);
  const [, star, aNum, aName, bNum, bName, stepText] = m;
  if ((aName || bName) && stepText !== undefined) {
    throw new SyntaxProblem(
      `has "${item}": Quartz reads no step after a name (it would ignore it); use numbers`,
    );
  }
  if (star && (bNum !== undefined || bName)) throw new SyntaxProblem(`has "${item}": "*" takes no range`);
  if (spec === FIELDS[YEAR] && item.startsWith("/"))
    throw new SyntaxProblem(`has "${item}": write a start year`);
  const value = (num: string | undefined, name: string | undefined): number | undefined => {
    if (name !== undefined) {
      const i = spec.names?.indexOf(name) ?? -1;
      if (i < 0) {
        throw new SyntaxProblem(
          spec.names
            ? `has "${name}", which is not one of ${spec.names.join(" ")}`
            : `takes no names, got "${name}"`,
        );
      }
      return i + 1;
    }
    if (num === undefined) return undefined;
    const n = Number(num);
    if (n < spec.min || n > spec.max) {
      const hint = spec === FIELDS[DOW] ? " (SUN=1 .. SAT=7)" : "";
      throw new SyntaxProblem(`has ${n}, outside ${spec.min}-${spec.max}${hint}`);
    }
    return n;
  };
  let start = value(aNum, aName);
  let end = value(bNum, bName);
  let step = 1;
  if (stepText !== undefined) {
    step = Number(stepText);
    if (step < 1 || step > spec.maxStep) {
      throw new SyntaxProblem(`has step ${step}: Quartz allows steps of 1-${spec.maxStep} in this field`);
    }
  }
  if (start === undefined) {
    // `*`, `*/n` and `/n`: from the field's first value
    if (end !== undefined) throw new SyntaxProblem(`has "${item}", which is not a value, range or step`);
    start = spec.min;
    end = spec.max;
  } else if (end === undefined) {
    end = stepText === undefined ? start : spec.max;
  }
  if (end < start) {
    if (spec.wrap === 0) throw new SyntaxProblem(`has "${item}": a year range must not end before it starts`);
    end += spec.wrap;
  }
  for (let i = start; i <= end; i += step) {
    let v = spec.wrap && i > spec.max ? i % spec.wrap : i;
    if (v === 0 && spec.min === 1) v = spec.wrap;
    set.add(v);
  }
}
