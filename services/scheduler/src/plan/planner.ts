/**
 * The timekeeper's decisions for one due job, as plain data: which nominal times to fire, which to record
 * as skipped (misfire and overlap policies), where the job's high-water mark moves and when it is due next.
 * No I/O, so the policies are testable with numbers alone.
 *
 * Lateness: a fire later than misfireThresholdMs (Quartz's misfire threshold) starts a misfire episode that
 * covers every nominal time up to now; a fire late by less is simply fired.
 *   fireOnce  fire the latest missed one (reason catchUp), record the rest as skipped
 *   skip      record all of them as skipped; the next future one fires normally
 *   fireAll   fire every missed one inside catchUpWindowSeconds (maxCatchUpFires per tick, the rest follow
 *             on the next ticks while still inside the window); older ones are recorded as skipped
 * Gaps of more than misfireEnumerationLimit fires are not walked: they become one summary record with a
 * count (exact for interval jobs, estimated from the walked part for cron).
 */
import type { FireReason } from "@taskjet/protocol";
import type { JobEntry } from "../view/jobEntry.js";
import type { JobSchedule } from "../view/schedule.js";

export interface PlannedFire {
  nominalMs: number;
  reason: FireReason;
  attempt: number;
  last: boolean;
  nextNominalMs: number | undefined;
}

export interface SkipRange {
  /** first and last skipped nominal times */
  fromMs: number;
  toMs: number;
  count: number;
  /** count is an estimate (a cron gap too long to walk) */
  approximate: boolean;
  /** individual nominal times when the range was walked and is small enough to record one by one */
  times?: number[];
  reason: string;
}

export interface Plan {
  fires: PlannedFire[];
  skips: SkipRange[];
  /** overlapPolicy bufferOne: this nominal goes into state.buffered */
  bufferMs?: number;
  /** overlapPolicy replace: interrupt the running run(s) before firing */
  interrupt: boolean;
  /** the new high-water mark (the last nominal fired or consumed); unchanged for retries */
  consumedThroughMs: number;
  /** next due nominal, or undefined when the schedule is over */
  nextDueMs: number | undefined;
  /** the schedule has ended: a recurring job becomes completed */
  finished: boolean;
}

export interface PlannerLimits {
  misfireThresholdMs: number;
  misfireEnumerationLimit: number;
  maxCatchUpFires: number;
  skipDetailLimit: number;
}

/** Nominal times in (afterMs, toMs], at most `limit`; `more` when the range holds more. */
export function enumerate(
  s: JobSchedule,
  afterMs: number,
  toMs: number,
  limit: number,
): { times: number[]; more: boolean } {
  const times: number[] = [];
  for (let t = s.next(afterMs); t !== undefined && t <= toMs; t = s.next(t)) {
    if (times.length >= limit) return { times, more: true };
    times.push(t);
  }
  return { times, more: false };
}

/** Describes the skipped nominal times in [fromMs, toMs] as one range, walking at most `limit` of them. */
function skipRange(
  s: JobSchedule,
  fromMs: number,
  toMs: number,
  reason: string,
  lim: PlannerLimits,
): SkipRange | undefined {
  if (toMs < fromMs) return undefined;
  const walked = enumerate(s, fromMs - 1, toMs, lim.misfireEnumerationLimit);
  const first = walked.times[0];
  if (first === undefined) return undefined;
  if (!walked.more) {
    const count = walked.times.length;
    const range: SkipRange = {
      fromMs: first,
      toMs: walked.times[count - 1]!,
      count,
      approximate: false,
      reason,
    };
    if (count <= lim.skipDetailLimit) range.times = walked.times;
    return range;
  }
  const lastWalked = walked.times[walked.times.length - 1]!;
  const last = s.latestAtOrBefore(toMs, lastWalked) ?? lastWalked;
  const exact = s.countBetween(fromMs - 1, toMs);
  if (exact !== undefined) return { fromMs: first, toMs: last, count: exact, approximate: false, reason };
  const n = walked.times.length;
  const gapMs = n > 1 ? (lastWalked - first) / (n - 1) : 1;
  const estimate = n + Math.max(0, Math.round((last - lastWalked) / Math.max(1, gapMs)));
  return { fromMs: first, toMs: last, count: estimate, approximate: true, reason };
}

/** Plans a retry of the last fire of a once job (the worker asked for it with failedRetry + retryAt). */
export function planRetry(e: JobEntry): Plan {
  return {
    fires: [
      {
        nominalMs: e.lastFireMs,
        reason: "retry",
        attempt: e.tryCount + 1,
        last: true,
        nextNominalMs: undefined,
      },
    ],
    skips: [],
    interrupt: false,
    consumedThroughMs: e.hwm,
    nextDueMs: undefined,
    finished: false,
  };
}

/**
 * Plans the job's schedule fire(s) due at `dueMs` (the first nominal after its floor) as seen at `nowMs`.
 * `dueMs` may lie slightly in the future (the ticker wakes early to prepare a batch).
 */
export function planSchedule(e: JobEntry, dueMs: number, nowMs: number, lim: PlannerLimits): Plan {
  const s = e.schedule!;
  const plan: Plan = {
    fires: [],
    skips: [],
    interrupt: false,
    consumedThroughMs: e.hwm,
    nextDueMs: dueMs,
    finished: false,
  };
  // buffered fires count against maxCount: they will fire
  let remaining =
    e.maxCount > 0 ? e.maxCount - e.triggerCount - (Number.isNaN(e.bufferedMs) ? 0 : 1) : Infinity;
  if (remaining <= 0) return { ...plan, nextDueMs: undefined, finished: true };

  let fireTimes: number[];
  let reason: FireReason = "schedule";
  if (nowMs - dueMs <= lim.misfireThresholdMs) {
    fireTimes = [dueMs];
  } else {
    reason = "catchUp";
    const latest = s.latestAtOrBefore(nowMs, dueMs - 1) ?? dueMs;
    if (e.misfirePolicy === "skip") {
      pushSkip(plan, skipRange(s, dueMs, latest, "misfire", lim));
      fireTimes = [];
      plan.consumedThroughMs = latest;
    } else if (e.misfirePolicy === "fireAll") {
      const windowStart = nowMs - e.catchUpWindowMs;
      if (dueMs < windowStart)
        pushSkip(plan, skipRange(s, dueMs, windowStart - 1, "misfire: older than catchUpWindowSeconds", lim));
      const recent = enumerate(
        s,
        Math.max(dueMs, windowStart) - 1,
        nowMs,
        Math.min(lim.maxCatchUpFires, remaining),
      );
      fireTimes = recent.times;
      if (fireTimes.length === 0) plan.consumedThroughMs = Math.max(plan.consumedThroughMs, windowStart - 1);
    } else {
      pushSkip(plan, skipRange(s, dueMs, latest - 1, "misfire", lim));
      fireTimes = [latest];
    }
  }

  if (fireTimes.length > remaining) fireTimes = fireTimes.slice(0, remaining);
  const lastConsidered = fireTimes[fireTimes.length - 1];
  if (lastConsidered !== undefined) plan.consumedThroughMs = Math.max(plan.consumedThroughMs, lastConsidered);
  for (const r of plan.skips) plan.consumedThroughMs = Math.max(plan.consumedThroughMs, r.toMs);

  // overlap: the previous run is still going (as the store last told us)
  if (fireTimes.length > 0 && e.overlapPolicy !== "allow" && e.runningCount > 0) {
    if (e.overlapPolicy === "replace") {
      plan.interrupt = true;
    } else if (e.overlapPolicy === "bufferOne" && Number.isNaN(e.bufferedMs)) {
      plan.bufferMs = fireTimes[fireTimes.length - 1]!;
      for (const t of fireTimes.slice(0, -1))
        pushSkip(plan, single(t, "overlap: a run is in progress and one fire is buffered"));
      remaining -= 1;
      fireTimes = [];
    } else {
      const why =
        e.overlapPolicy === "skip" ? "overlap: a run is in progress" : "overlap: a fire is buffered already";
      for (const t of fireTimes) pushSkip(plan, single(t, why));
      fireTimes = [];
    }
  }
  remaining -= fireTimes.length;

  const next = remaining > 0 ? s.next(plan.consumedThroughMs) : undefined;
  plan.nextDueMs = next;
  plan.finished = next === undefined;

  plan.fires = fireTimes.map((t, i) => {
    const isLast = i === fireTimes.length - 1;
    const nextNominalMs = isLast ? plan.nextDueMs : fireTimes[i + 1];
    return { nominalMs: t, reason, attempt: 1, last: isLast && plan.finished, nextNominalMs };
  });
  return plan;
}

function single(t: number, reason: string): SkipRange {
  return { fromMs: t, toMs: t, count: 1, approximate: false, times: [t], reason };
}

function pushSkip(plan: Plan, r: SkipRange | undefined): void {
  if (r && r.count > 0) plan.skips.push(r);
}
