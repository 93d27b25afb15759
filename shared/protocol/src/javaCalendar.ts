/**
 * The few behaviours of a lenient java.util.GregorianCalendar that Quartz's CronExpression relies on, so the
 * `quartz` DST rule fires exactly where Quartz does (quartzNext.ts ports CronExpression.getTimeAfter onto it).
 *
 * Contract (what Java does and we do):
 * - `set(field, v)` stores the value as given (out of range allowed: hour 24, day 0 or 32, month 12) and
 *   invalidates the instant; nothing is normalised until the next `get`/`getTime`.
 * - `get`/`getTime` first compute the instant from the fields: overflow carries upward (day 32 of January is
 *   1 February), the wall time is resolved with the zone's Java rule (ZoneRules.javaWallOffset: a time in a
 *   spring-forward gap lands after the gap by the gap's length, a repeated time is the later occurrence),
 *   then every field is recomputed from that instant.
 * - `addYears(n)` completes, adds to the year and pins the day to the month's length (Calendar.add(YEAR)).
 * - Milliseconds are always 0: Quartz clears them first. Dates are proleptic Gregorian (Java switches to
 *   Julian before 1582; cron years start at 1970).
 */
import { civilFromDays, type ZoneRules } from "./zoneRules.js";

const DAY_MS = 86_400_000;

/** Days since 1970-01-01 of a civil date; months outside 0-11 carry into the year. */
export function daysFromCivil(year: number, month0: number, day: number): number {
  const y0 = year + Math.floor(month0 / 12);
  const m = month0 - Math.floor(month0 / 12) * 12 + 1;
  const y = m <= 2 ? y0 - 1 : y0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Last day of a month (1-based month, as Quartz's getLastDayOfMonth). */
export function lastDayOfMonth(month1: number, year: number): number {
  return month1 === 2 && isLeapYear(year) ? 29 : MONTH_DAYS[month1 - 1]!;
}

export class JavaCalendar {
  year = 1970;
  /** 0-11, as Calendar.MONTH */
  month = 0;
  day = 1;
  hour = 0;
  minute = 0;
  second = 0;
  /** Calendar.DAY_OF_WEEK: 1 = SUNDAY .. 7 = SATURDAY; valid after a get */
  dayOfWeek = 5;
  private time = 0;
  private timeValid = true;

  constructor(private readonly rules: ZoneRules) {}

  setTime(ms: number): void {
    this.time = ms;
    this.timeValid = true;
    this.computeFields();
  }

  getTime(): number {
    this.complete();
    return this.time;
  }

  /** Marks the fields as changed; callers assign the field itself (cal.minute = 61; cal.touch()). */
  touch(): void {
    this.timeValid = false;
  }

  /** Normalises: call before reading a field after any assignment. */
  complete(): void {
    if (this.timeValid) return;
    const wall =
      daysFromCivil(this.year, this.month, 1) * DAY_MS +
      (this.day - 1) * DAY_MS +
      ((this.hour * 60 + this.minute) * 60 + this.second) * 1000;
    this.time = wall - this.rules.javaWallOffset(wall);
    this.timeValid = true;
    this.computeFields();
  }

  addYears(n: number): void {
    this.complete();
    this.year += n;
    const last = lastDayOfMonth(this.month + 1, this.year);
    if (this.day > last) this.day = last;
    this.timeValid = false;
  }

  private computeFields(): void {
    const local = this.time + this.rules.offsetAt(this.time);
    const days = Math.floor(local / DAY_MS);
    let rest = local - days * DAY_MS;
    this.hour = Math.floor(rest / 3_600_000);
    rest -= this.hour * 3_600_000;
    this.minute = Math.floor(rest / 60_000);
    this.second = Math.floor((rest - this.minute * 60_000) / 1000);
    this.dayOfWeek = ((((days + 4) % 7) + 7) % 7) + 1;
    civilFromDays(days, this);
  }
}
