/**
 * Nominal fire times of one job, from its definition and creation time.
 *
 *   once        one nominal: beginTime, else createdAt + intervalSeconds (a delay), else createdAt (now)
 *   period      cron (compileCron with the job's dialect, zone and dstRule), strictly after
 *               max(createdAt, beginTime - 1 ms): fires before the job existed are not misfires
 *   persistent  anchor + k * intervalSeconds, k >= 0; anchor = beginTime, else createdAt + intervalSeconds
 *
 * Every kind stops after endTime (inclusive). maxCount is counted by the planner, not here.
 *
 * croner needs ~100 us per `nextRun` here, far too slow for 10k fires a second, so each distinct compiled
 * cron gets a CronTimeline: a few cached blocks of consecutive fire times, shared by every job with that
 * expression. Jobs on the same cron ask for the same instants, so nearly every `next` is a binary search.
 */
import { compileCron, type CronSchedule, type JobDefinition } from "@taskjet/protocol";

export type ScheduleKind = "once" | "cron" | "interval";

/** The schedule-relevant part of a job definition. */
export type ScheduleDef = Pick<
  JobDefinition,
  "jobType" | "cron" | "cronDialect" | "timeZone" | "dstRule" | "intervalSeconds" | "beginTime" | "endTime"
>;

const BLOCK_SIZE = 64;
const MAX_BLOCKS = 4;

/** Cached runs of consecutive fire times of one compiled cron. */
export class CronTimeline {
  // each block holds next(from), next(next(from)), ...; fewer than BLOCK_SIZE entries = schedule ended
  private blocks: { from: number; times: number[] }[] = [];

  constructor(readonly schedule: CronSchedule) {}

  /** The first fire time strictly after `afterMs`, or undefined when the schedule has ended. */
  next(afterMs: number): number | undefined {
    for (let i = 0; i < this.blocks.length; i++) {
      const b = this.blocks[i]!;
      const last = b.times[b.times.length - 1];
      if (afterMs < b.from) continue;
      if (last !== undefined && afterMs < last) {
        if (i > 0) this.blocks.unshift(...this.blocks.splice(i, 1)); // keep the hot block first
        return firstAfter(b.times, afterMs);
      }
      if (b.times.length < BLOCK_SIZE && (last === undefined || afterMs >= last)) return undefined;
    }
    const times: number[] = [];
    let t = afterMs;
    for (let i = 0; i < BLOCK_SIZE; i++) {
      const n = this.schedule.next(t);
      if (n === undefined) break;
      times.push(n);
      t = n;
    }
    this.blocks.unshift({ from: afterMs, times });
    if (this.blocks.length > MAX_BLOCKS) this.blocks.pop();
    return times[0];
  }
}

function firstAfter(times: number[], afterMs: number): number | undefined {
  let lo = 0;
  let hi = times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! > afterMs) hi = mid;
    else lo = mid + 1;
  }
  const t = times[lo];
  return t !== undefined && t > afterMs ? t : undefined;
}

// expression -> zone -> dialect|dstRule -> timeline: a million jobs share a handful of these, and nested
// lookups avoid building a cache key string per job on a cold load
const timelines = new Map<string, Map<string, Map<string, CronTimeline>>>();
const byIdentity = new WeakMap<CronSchedule, CronTimeline>();

function timelineOf(def: ScheduleDef): CronTimeline {
  const expression = def.cron ?? "";
  let byZone = timelines.get(expression);
  if (!byZone) timelines.set(expression, (byZone = new Map()));
  let byRule = byZone.get(def.timeZone);
  if (!byRule) byZone.set(def.timeZone, (byRule = new Map()));
  const rule = `${def.cronDialect}|${def.dstRule}`;
  let tl = byRule.get(rule);
  if (!tl) {
    const schedule = compileCron({
      expression,
      dialect: def.cronDialect,
      timeZone: def.timeZone,
      dstRule: def.dstRule,
    });
    tl = byIdentity.get(schedule) ?? new CronTimeline(schedule);
    byIdentity.set(schedule, tl);
    byRule.set(rule, tl);
  }
  return tl;
}

const parseMs = (iso: string | undefined): number | undefined =>
  iso === undefined ? undefined : Date.parse(iso);

/** The nominal fire times of one job. Immutable; rebuilt when the definition changes. */
export class JobSchedule {
  readonly kind: ScheduleKind;
  /** once: the nominal; interval: the first nominal; cron: the exclusive lower bound */
  readonly anchorMs: number;
  readonly intervalMs: number;
  /** inclusive upper bound (Infinity without endTime) */
  readonly endMs: number;
  private readonly timeline: CronTimeline | undefined;

  constructor(def: ScheduleDef, createdAtMs: number) {
    const begin = parseMs(def.beginTime);
    this.endMs = parseMs(def.endTime) ?? Number.POSITIVE_INFINITY;
    this.intervalMs =
      def.intervalSeconds === undefined ? 0 : Math.max(1, Math.round(def.intervalSeconds * 1000));
    if (def.jobType === "period") {
      this.kind = "cron";
      this.timeline = timelineOf(def);
      this.anchorMs = Math.max(createdAtMs, begin === undefined ? Number.NEGATIVE_INFINITY : begin - 1);
    } else if (def.jobType === "persistent") {
      this.kind = "interval";
      this.timeline = undefined;
      this.anchorMs = begin ?? createdAtMs + this.intervalMs;
    } else {
      this.kind = "once";
      this.timeline = undefined;
      this.anchorMs = begin ?? createdAtMs + this.intervalMs;
    }
  }

  /** The first nominal time strictly after `afterMs`, or undefined when the schedule has no more. */
  next(afterMs: number): number | undefined {
    let t: number | undefined;
    if (this.kind === "once") {
      t = this.anchorMs > afterMs ? this.anchorMs : undefined;
    } else if (this.kind === "interval") {
      if (afterMs < this.anchorMs) t = this.anchorMs;
      else
        t = this.anchorMs + (Math.floor((afterMs - this.anchorMs) / this.intervalMs) + 1) * this.intervalMs;
    } else {
      t = this.timeline!.next(Math.max(afterMs, this.anchorMs));
    }
    return t !== undefined && t <= this.endMs ? t : undefined;
  }

  /**
   * The latest nominal time in (afterMs, atMs], found without walking from `afterMs` (gaps may hold
   * millions of fires): gallop back from `atMs` until a window holds a fire, then walk that window.
   */
  latestAtOrBefore(atMs: number, afterMs: number): number | undefined {
    if (this.kind === "interval") {
      const end = Math.min(atMs, this.endMs);
      if (end < this.anchorMs) return undefined;
      const t = this.anchorMs + Math.floor((end - this.anchorMs) / this.intervalMs) * this.intervalMs;
      return t > afterMs ? t : undefined;
    }
    for (const windowMs of GALLOP_WINDOWS_MS) {
      const from = Math.max(afterMs, atMs - windowMs);
      let t = this.next(from);
      if (t === undefined || t > atMs) {
        if (from === afterMs) return undefined;
        continue;
      }
      for (let n = this.next(t); n !== undefined && n <= atMs; n = this.next(n)) t = n;
      return t;
    }
    return undefined;
  }

  /** Exact count of nominals in (afterMs, atMs] for interval schedules; undefined for cron. */
  countBetween(afterMs: number, atMs: number): number | undefined {
    if (this.kind === "once")
      return this.anchorMs > afterMs && this.anchorMs <= Math.min(atMs, this.endMs) ? 1 : 0;
    if (this.kind !== "interval") return undefined;
    const first = this.next(afterMs);
    const last = this.latestAtOrBefore(atMs, afterMs);
    if (first === undefined || last === undefined || last < first) return 0;
    return Math.round((last - first) / this.intervalMs) + 1;
  }

  /** True when `def` created at `createdAtMs` gives this very schedule (cheap: no cron compile). */
  matches(def: ScheduleDef, createdAtMs: number): boolean {
    const begin = parseMs(def.beginTime);
    const intervalMs =
      def.intervalSeconds === undefined ? 0 : Math.max(1, Math.round(def.intervalSeconds * 1000));
    if (this.endMs !== (parseMs(def.endTime) ?? Number.POSITIVE_INFINITY) || this.intervalMs !== intervalMs)
      return false;
    if (def.jobType === "period") {
      const spec = this.timeline?.schedule.spec;
      return (
        this.kind === "cron" &&
        spec !== undefined &&
        spec.expression === def.cron &&
        spec.timeZone === def.timeZone &&
        spec.dialect === def.cronDialect &&
        spec.dstRule === def.dstRule &&
        this.anchorMs === Math.max(createdAtMs, begin === undefined ? Number.NEGATIVE_INFINITY : begin - 1)
      );
    }
    const kind: ScheduleKind = def.jobType === "persistent" ? "interval" : "once";
    return this.kind === kind && this.anchorMs === (begin ?? createdAtMs + intervalMs);
  }

  /** True when both give the same nominal times. */
  sameAs(other: JobSchedule | undefined): boolean {
    return (
      other !== undefined &&
      this.kind === other.kind &&
      this.anchorMs === other.anchorMs &&
      this.intervalMs === other.intervalMs &&
      this.endMs === other.endMs &&
      this.timeline === other.timeline
    );
  }
}

const GALLOP_WINDOWS_MS = [
  1_000,
  60_000,
  3_600_000,
  86_400_000,
  32 * 86_400_000,
  367 * 86_400_000,
  3_700 * 86_400_000,
];
