/**
 * Next fire time of a quartz-dialect expression: Quartz 2.3.2's CronExpression.getTimeAfter, step for step,
 * on a lenient Java calendar (javaCalendar.ts) in the job's zone. Porting the algorithm instead of
 * describing its result is what makes the `quartz` DST rule exact: Quartz's behaviour at DST changes is a
 * consequence of the order in which it sets calendar fields (a time in a spring gap is pushed past the gap
 * and fails the hour test, so that day is skipped; a set field inside a fall overlap re-reads as the later
 * occurrence, so the first pass of the repeated hour gets no fires), and no rule of croner's reproduces it.
 * With the zone `UTC` the same code is a plain calendar matcher, which the other DST rules build on
 * (dstLayer.ts). The differential test (test/quartzDifferential.test.ts) runs it against Quartz itself.
 *
 * Deliberate departures from the Java code, each outside Quartz's documented grammar (docs/scheduler.md):
 * - `nW` in a month without day n, and `L-nW`/`L-n` where n reaches before the 1st: no fire that month
 *   (Quartz computes on the overflowed date and fires early in the next month).
 * - The W search's comparison instant has 0 ms (Quartz's carries the wall clock's ms of the moment it runs).
 * - No fire after the year 2199 (Quartz: 100 years after the current year).
 */
import { JavaCalendar, daysFromCivil, lastDayOfMonth } from "./javaCalendar.js";
import type { QuartzExpression } from "./quartzSyntax.js";
import type { ZoneRules } from "./zoneRules.js";

const MAX_YEAR = 2199;

/** A parsed expression with look-up tables: table[v] = the smallest value >= v in the set, or -1. */
export interface QuartzPlan {
  readonly q: QuartzExpression;
  readonly sec: Int16Array;
  readonly min: Int16Array;
  readonly hour: Int16Array;
  readonly dom: Int16Array;
  readonly month: Int16Array;
  readonly dow: Int16Array;
}

function ceilTable(values: readonly number[], size: number): Int16Array {
  const t = new Int16Array(size + 2).fill(-1);
  const set = new Set(values);
  for (let v = size; v >= 0; v--) t[v] = set.has(v) ? v : t[v + 1]!;
  return t;
}

export function planQuartz(q: QuartzExpression): QuartzPlan {
  return {
    q,
    sec: ceilTable(q.seconds, 60),
    min: ceilTable(q.minutes, 60),
    hour: ceilTable(q.hours, 24),
    dom: ceilTable(q.daysOfMonth ?? [], 32),
    month: ceilTable(q.months, 13),
    dow: ceilTable(q.daysOfWeek ?? [], 8),
  };
}

function setCalendarHour(cl: JavaCalendar, hour: number): void {
  cl.hour = hour;
  cl.touch();
  cl.complete();
  if (cl.hour !== hour && hour !== 24) {
    cl.hour = hour + 1;
    cl.touch();
  }
}

/** Calendar.DAY_OF_WEEK (1 = SUN) of a civil date; hour 0 never moves a date across midnight. */
function dayOfWeek(year: number, month1: number, day: number): number {
  const days = daysFromCivil(year, month1 - 1, day);
  return ((((days + 4) % 7) + 7) % 7) + 1;
}

/** Quartz's nearest-weekday shift of `day` (never across the month's edges). */
function nearestWeekday(year: number, month1: number, day: number): number {
  const ldom = lastDayOfMonth(month1, year);
  const dow = dayOfWeek(year, month1, day);
  if (dow === 7) return day === 1 ? day + 2 : day - 1;
  if (dow === 1) return day === ldom ? day - 2 : day + 1;
  return day;
}

/** The first fire time strictly after `afterMs` in the zone of `rules`, or undefined. */
export function quartzNext(plan: QuartzPlan, rules: ZoneRules, afterMs: number): number | undefined {
  if (!Number.isFinite(afterMs)) return undefined; // NaN would never pass the year test below
  const q = plan.q;
  const afterTime = afterMs + 1000;
  const cl = new JavaCalendar(rules);
  cl.setTime(Math.floor(afterTime / 1000) * 1000);
  // the W search's instant of (year, month, day) at the found time, as Quartz's tcal.getTime()
  const tcal = new JavaCalendar(rules);
  const wallInstant = (year: number, month1: number, day: number, hr: number, min: number, sec: number) => {
    tcal.year = year;
    tcal.month = month1 - 1;
    tcal.day = day;
    tcal.hour = hr;
    tcal.minute = min;
    tcal.second = sec;
    tcal.touch();
    return tcal.getTime();
  };
  const toDayStart = (day: number, month0: number) => {
    cl.second = 0;
    cl.minute = 0;
    cl.hour = 0;
    cl.day = day;
    cl.month = month0;
    cl.touch();
  };

  for (;;) {
    cl.complete();
    if (cl.year > MAX_YEAR) return undefined;

    // second
    let sec = cl.second;
    let min = cl.minute;
    let st = plan.sec[sec]!;
    if (st >= 0) sec = st;
    else {
      sec = q.seconds[0]!;
      min++;
      cl.minute = min;
    }
    cl.second = sec;
    cl.touch();
    cl.complete();

    // minute
    min = cl.minute;
    let hr = cl.hour;
    let t = -1;
    st = plan.min[min]!;
    if (st >= 0) {
      t = min;
      min = st;
    } else {
      min = q.minutes[0]!;
      hr++;
    }
    if (min !== t) {
      cl.second = 0;
      cl.minute = min;
      setCalendarHour(cl, hr);
      continue;
    }
    cl.minute = min;
    cl.touch();
    cl.complete();

    // hour
    hr = cl.hour;
    let day = cl.day;
    t = -1;
    st = plan.hour[hr]!;
    if (st >= 0) {
      t = hr;
      hr = st;
    } else {
      hr = q.hours[0]!;
      day++;
    }
    if (hr !== t) {
      cl.second = 0;
      cl.minute = 0;
      cl.day = day;
      setCalendarHour(cl, hr);
      continue;
    }
    cl.hour = hr;
    cl.touch();
    cl.complete();

    // day
    day = cl.day;
    let mon = cl.month + 1;
    t = -1;
    let tmon = mon;
    if (q.daysOfMonth !== undefined) {
      const first = q.daysOfMonth[0] ?? 1;
      if (q.lastdayOfMonth) {
        t = day;
        day = lastDayOfMonth(mon, cl.year) - q.lastdayOffset;
        if (!q.nearestWeekday) {
          if (t > day) {
            mon++;
            if (mon > 12) {
              mon = 1;
              tmon = 3333; // as Quartz: forces the month test below to fail
              cl.addYears(1);
            }
            day = 1;
          }
        } else if (day < 1) {
          day = 1; // L-nW before the 1st: no fire this month
          mon++;
        } else {
          day = nearestWeekday(cl.year, mon, day);
          if (wallInstant(cl.year, mon, day, hr, min, sec) < afterTime) {
            day = 1;
            mon++;
          }
        }
      } else if (q.nearestWeekday) {
        t = day;
        day = first;
        if (day > lastDayOfMonth(mon, cl.year)) {
          day = 1; // no day `first` in this month: no fire this month
          mon++;
        } else {
          day = nearestWeekday(cl.year, mon, day);
          if (wallInstant(cl.year, mon, day, hr, min, sec) < afterTime) {
            day = first;
            mon++;
          }
        }
      } else if (plan.dom[day]! >= 0) {
        t = day;
        day = plan.dom[day]!;
        if (day > lastDayOfMonth(mon, cl.year)) {
          day = first;
          mon++;
        }
      } else {
        day = first;
        mon++;
      }
      if (day !== t || mon !== tmon) {
        toDayStart(day, mon - 1);
        continue;
      }
    } else {
      const wanted = q.daysOfWeek![0]!;
      const cDow = cl.dayOfWeek;
      const lDay = lastDayOfMonth(mon, cl.year);
      if (q.lastdayOfWeek) {
        let daysToAdd = cDow < wanted ? wanted - cDow : cDow > wanted ? wanted + 7 - cDow : 0;
        if (day + daysToAdd > lDay) {
          toDayStart(1, mon); // promotes the month
          continue;
        }
        while (day + daysToAdd + 7 <= lDay) daysToAdd += 7;
        day += daysToAdd;
        if (daysToAdd > 0) {
          toDayStart(day, mon - 1);
          continue;
        }
      } else if (q.nthdayOfWeek !== 0) {
        let daysToAdd = cDow < wanted ? wanted - cDow : cDow > wanted ? wanted + 7 - cDow : 0;
        const dayShifted = daysToAdd > 0;
        day += daysToAdd;
        let weekOfMonth = Math.floor(day / 7);
        if (day % 7 > 0) weekOfMonth++;
        daysToAdd = (q.nthdayOfWeek - weekOfMonth) * 7;
        day += daysToAdd;
        if (daysToAdd < 0 || day > lDay) {
          toDayStart(1, mon);
          continue;
        } else if (daysToAdd > 0 || dayShifted) {
          toDayStart(day, mon - 1);
          continue;
        }
      } else {
        const next = plan.dow[cDow]!;
        const dow = next >= 0 ? next : wanted;
        const daysToAdd = cDow < dow ? dow - cDow : cDow > dow ? dow + 7 - cDow : 0;
        if (day + daysToAdd > lDay) {
          toDayStart(1, mon);
          continue;
        } else if (daysToAdd > 0) {
          toDayStart(day + daysToAdd, mon - 1);
          continue;
        }
      }
    }
    cl.day = day;
    cl.touch();
    cl.complete();

    // month
    mon = cl.month + 1;
    let year = cl.year;
    t = -1;
    if (year > MAX_YEAR) return undefined;
    st = plan.month[mon]!;
    if (st >= 0) {
      t = mon;
      mon = st;
    } else {
      mon = q.months[0]!;
      year++;
    }
    if (mon !== t) {
      toDayStart(1, mon - 1);
      cl.year = year;
      continue;
    }
    cl.month = mon - 1;
    cl.touch();
    cl.complete();

    // year
    year = cl.year;
    if (q.years !== undefined) {
      const y = q.years.find((v) => v >= year);
      if (y === undefined) return undefined;
      if (y !== year) {
        toDayStart(1, 0);
        cl.year = y;
        continue;
      }
    }
    return cl.getTime();
  }
}
