// Shared helpers for the benchmarks: percentiles, the fire bookkeeping of the precision benchmark, and the
// floors' stream.
import { AckPolicy, RetentionPolicy } from "@nats-io/jetstream";

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summarize(values) {
  const s = Float64Array.from(values).sort();
  return {
    count: s.length,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s.length ? s[s.length - 1] : NaN,
  };
}

/**
 * Records handler starts of per-second schedules: lateness inside the window [fromMs, toMs),
 * missed (expected nominal seconds never seen) and duplicates (a nominal second seen twice).
 */
export class FireBook {
  constructor(schedules, fromMs, toMs) {
    this.schedules = schedules;
    this.fromMs = fromMs;
    this.toMs = toMs;
    this.seconds = Math.round((toMs - fromMs) / 1000);
    this.seen = new Uint8Array(schedules * this.seconds);
    this.lateness = [];
    /** the worst lateness of each nominal second: shows whether the tail is every second or a few */
    this.worstBySecond = new Float64Array(this.seconds);
    this.duplicates = 0;
  }
  /** index: the schedule's number 0..schedules-1; nominalMs: the fire's nominal time; startMs: handler start */
  record(index, nominalMs, startMs) {
    if (nominalMs < this.fromMs || nominalMs >= this.toMs) return;
    const slot = index * this.seconds + Math.floor((nominalMs - this.fromMs) / 1000);
    if (this.seen[slot]) {
      this.duplicates++;
      return;
    }
    this.seen[slot] = 1;
    const late = startMs - nominalMs;
    this.lateness.push(late);
    const second = Math.floor((nominalMs - this.fromMs) / 1000);
    if (late > this.worstBySecond[second]) this.worstBySecond[second] = late;
  }
  result() {
    let seen = 0;
    for (const v of this.seen) seen += v;
    return {
      expected: this.seen.length,
      seen,
      missed: this.seen.length - seen,
      duplicates: this.duplicates,
      latenessMs: summarize(this.lateness),
      worstBySecondMs: Array.from(this.worstBySecond),
    };
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const nextSecond = (ms) => Math.ceil(ms / 1000) * 1000;

/** The floors' work-queue stream `floor` (subjects floor.>) with a durable pull consumer `w`. */
export async function floorStream(jsm, maxAckPending, filterSubject) {
  await jsm.streams.add({ name: "floor", subjects: ["floor.>"], retention: RetentionPolicy.Workqueue });
  await jsm.consumers.add("floor", {
    durable_name: "w",
    ack_policy: AckPolicy.Explicit,
    max_ack_pending: maxAckPending,
    ...(filterSubject ? { filter_subject: filterSubject } : {}),
  });
}
