/**
 * Zone rules for cron evaluation: UTC offsets of an IANA zone and its transitions, found once per zone and
 * UTC year through Intl and kept in small tables, so a cron step costs a table look-up instead of an Intl
 * call (Intl.DateTimeFormat is microseconds per call; a scheduler computes a million next fire times at
 * start).
 *
 * Contract:
 * - `offsetAt(utcMs)`: the offset (ms, east positive) in force at that instant.
 * - `javaWallOffset(wallMs)`: the offset java.util.GregorianCalendar (sun.util.calendar.ZoneInfo) uses for
 *   a local wall time: the offset after the latest transition whose wall time, read in the offset after it,
 *   is at or before `wallMs`. A wall time in a spring-forward gap so reads as the offset before the gap
 *   (02:30 in Berlin's gap is 03:30 summer time); one in a fall-back overlap reads as the later, standard
 *   occurrence. Quartz's CronExpression computes on such a calendar, so the `quartz` DST rule needs this.
 * - `transitionAfter(utcMs)` / `transitionAtOrBefore(utcMs)`: the neighbouring transitions (DST layer).
 *
 * Transitions are found by probing every 24 hours and bisecting to the second; tzdb has no zone that
 * changes its offset and back within a day. Java keeps explicit transitions up to 2037 and then applies the
 * zone's last rule; we apply the same table rule to every year.
 */

export interface Transition {
  /** UTC ms of the change */
  at: number;
  /** offset (ms) before and after it */
  before: number;
  after: number;
}

interface YearTable {
  startOffset: number;
  transitions: Transition[];
}

const DAY_MS = 86_400_000;

/**
 * Civil date (proleptic Gregorian) of a day count since 1970-01-01, written into `out` (month 0-11), with no
 * Date and no allocation: H. Hinnant's civil_from_days.
 */
export function civilFromDays(days: number, out: { year: number; month: number; day: number }): void {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  out.day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  out.month = mp < 10 ? mp + 2 : mp - 10;
  out.year = yoe + era * 400 + (out.month <= 1 ? 1 : 0);
}

const scratch = { year: 0, month: 0, day: 0 };

/** Civil year of a UTC ms value (proleptic Gregorian), without allocating a Date. */
export function utcYear(ms: number): number {
  civilFromDays(Math.floor(ms / DAY_MS), scratch);
  return scratch.year;
}

export class ZoneRules {
  private readonly years = new Map<number, YearTable>();
  private readonly format: Intl.DateTimeFormat | undefined;
  /** true when the zone never changes its offset (UTC, Etc/GMT+5): every look-up is a constant */
  private readonly fixed: boolean;
  private readonly fixedOffset: number;

  constructor(readonly zone: string) {
    if (/^(UTC|Etc\/UTC|Etc\/GMT|GMT|Etc\/Universal|Etc\/Zulu)$/i.test(zone)) {
      this.fixed = true;
      this.fixedOffset = 0;
      return;
    }
    this.format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      era: "short",
    });
    this.fixed = false;
    this.fixedOffset = 0;
  }

  offsetAt(utcMs: number): number {
    if (this.fixed) return this.fixedOffset;
    const table = this.table(utcYear(utcMs));
    let off = table.startOffset;
    for (const tr of table.transitions) {
      if (tr.at > utcMs) break;
      off = tr.after;
    }
    return off;
  }

  javaWallOffset(wallMs: number): number {
    if (this.fixed) return this.fixedOffset;
    // Transitions of the neighbouring years matter only within a day or so of New Year.
    const y = utcYear(wallMs);
    const table = this.table(y);
    const nearEdge = utcYear(wallMs - 2 * DAY_MS) !== y || utcYear(wallMs + 2 * DAY_MS) !== y;
    const list = nearEdge
      ? [...this.table(y - 1).transitions, ...table.transitions, ...this.table(y + 1).transitions]
      : table.transitions;
    let off = nearEdge ? this.table(y - 1).startOffset : table.startOffset;
    for (const tr of list) {
      if (tr.at + tr.after > wallMs) break;
      off = tr.after;
    }
    return off;
  }

  transitionAfter(utcMs: number): Transition | undefined {
    if (this.fixed) return undefined;
    // a year with no transition (zones without DST) ends the search after a few years
    for (let y = utcYear(utcMs), n = 0; n < 3; y++, n++) {
      for (const tr of this.table(y).transitions) if (tr.at > utcMs) return tr;
    }
    return undefined;
  }

  transitionAtOrBefore(utcMs: number): Transition | undefined {
    if (this.fixed) return undefined;
    const y = utcYear(utcMs);
    for (const year of [y, y - 1]) {
      const list = this.table(year).transitions;
      for (let i = list.length - 1; i >= 0; i--) if (list[i]!.at <= utcMs) return list[i];
    }
    return undefined;
  }

  private table(year: number): YearTable {
    let t = this.years.get(year);
    if (!t) {
      t = this.build(year);
      if (this.years.size > 400) this.years.clear();
      this.years.set(year, t);
    }
    return t;
  }

  private build(year: number): YearTable {
    const start = Date.UTC(year, 0, 1);
    const end = Date.UTC(year + 1, 0, 1);
    const startOffset = this.intlOffset(start);
    const transitions: Transition[] = [];
    let prevAt = start;
    let prevOff = startOffset;
    for (let at = start + DAY_MS; prevAt < end; at = Math.min(at + DAY_MS, end)) {
      const off = this.intlOffset(at);
      if (off !== prevOff) {
        // bisect to the second: the first instant in (prevAt, at] that has the new offset
        let lo = prevAt;
        let hi = at;
        while (hi - lo > 1000) {
          const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
          if (this.intlOffset(mid) === prevOff) lo = mid;
          else hi = mid;
        }
        // a change at exactly New Year belongs to this year's list: next year's table starts after it
        transitions.push({ at: hi, before: prevOff, after: off });
        prevOff = off;
      }
      prevAt = at;
    }
    return { startOffset, transitions };
  }

  /** Offset at `ms` from Intl (seconds precision): local wall fields read as UTC, minus the instant. */
  private intlOffset(ms: number): number {
    const second = Math.floor(ms / 1000) * 1000;
    const parts = this.format!.formatToParts(new Date(second));
    let y = 0;
    let mo = 0;
    let d = 0;
    let h = 0;
    let mi = 0;
    let s = 0;
    let bc = false;
    for (const p of parts) {
      switch (p.type) {
        case "year":
          y = Number(p.value);
          break;
        case "month":
          mo = Number(p.value);
          break;
        case "day":
          d = Number(p.value);
          break;
        case "hour":
          h = Number(p.value);
          break;
        case "minute":
          mi = Number(p.value);
          break;
        case "second":
          s = Number(p.value);
          break;
        case "era":
          bc = p.value.startsWith("B");
          break;
      }
    }
    const wall = new Date(0);
    wall.setUTCFullYear(bc ? 1 - y : y, mo - 1, d);
    wall.setUTCHours(h, mi, s, 0);
    return wall.getTime() - second;
  }
}

const rulesCache = new Map<string, ZoneRules>();

/** The shared rules of a zone (the zone must be valid: see isValidTimeZone). */
export function zoneRules(zone: string): ZoneRules {
  let r = rulesCache.get(zone);
  if (!r) {
    r = new ZoneRules(zone);
    if (rulesCache.size > 1000) rulesCache.clear();
    rulesCache.set(zone, r);
  }
  return r;
}
