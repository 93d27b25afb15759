/**
 * PendingRuns (the coalescer's fold of a job's pending successes) against applyResult applied run by run:
 * the same record for random runs and random stored states, whole or split in two and appended.
 */
import { describe, expect, it } from "vitest";
import type { FireMessage, JobRecord, JobState } from "@taskjet/protocol";
import { applyResult, ranAlready } from "../src/outcome/outcome.js";
import { PendingRuns } from "../src/outcome/pendingRuns.js";

/** A small seeded generator (mulberry32): the same cases every run. */
function rng(seed: number) {
  let a = seed;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  return { next, pick, chance: (p: number) => next() < p };
}

const T0 = Date.parse("2026-11-28T03:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

interface Run {
  fire: FireMessage;
  result: unknown;
  startedIso: string;
  finishedAt: Date;
}

function makeCase(seed: number): { rec: JobRecord; runs: Run[] } {
  const r = rng(seed);
  const jobType = r.pick(["period", "persistent", "persistent", "once"] as const);
  const def = {
    id: "j",
    tenantId: "t",
    group: "g",
    jobType,
    maxCount: r.chance(0.2) ? 5 : 0,
    overlapPolicy: r.chance(0.1) ? "skip" : "allow",
    lockTimeoutSeconds: 0,
    maxTryCount: 50,
  } as unknown as JobRecord["def"];
  const fireIds = Array.from({ length: 8 }, (_, i) => `t.j:${T0 + i * 1000}`);
  const state: JobState = {
    status: r.pick(["queuing", "queuing", "running", "paused", "stopped", "failedRetry"] as const),
    triggerCount: Math.floor(r.next() * 10),
    tryCount: Math.floor(r.next() * 3),
    isAbandoned: r.chance(0.1),
    createdAt: iso(T0 - 60_000),
    updatedAt: iso(T0 - 1_000),
    skippedCount: 0,
    running: r.chance(0.3)
      ? [
          {
            fireId: r.pick(fireIds),
            nominalTime: iso(T0),
            worker: "w",
            node: "n",
            startedAt: iso(T0),
            attempt: 1,
          },
          { fireId: "other", nominalTime: iso(T0), worker: "w", node: "n", startedAt: iso(T0), attempt: 1 },
        ]
      : r.chance(0.5)
        ? []
        : (undefined as unknown as JobState["running"]),
  };
  if (r.chance(0.7))
    state.lastFireTime = r.chance(0.1) ? "garbage" : iso(T0 + Math.floor(r.next() * 6 - 3) * 1000);
  if (r.chance(0.5)) state.nextRunTime = iso(T0 + 500);
  if (r.chance(0.3)) state.result = { before: true };
  if (r.chance(0.3)) state.lastError = "earlier";
  if (r.chance(0.3)) state.retryAt = iso(T0 + 5_000);
  if (r.chance(0.2)) state.buffered = "t.j:1";
  // finished runs already recorded, up to the cap (a repeat of one of them moves it to the end)
  if (r.chance(0.5))
    state.doneRuns = Array.from({ length: Math.floor(r.next() * 66) }, (_, i) =>
      String(T0 + (i - 60) * 1000),
    );
  const runs: Run[] = [];
  const n = 1 + Math.floor(r.next() * 7);
  let clock = T0;
  for (let i = 0; i < n; i++) {
    // mostly increasing nominal times, sometimes a repeat or an older one (a redelivery)
    const nominalMs = T0 + (r.chance(0.2) ? Math.floor(r.next() * 8) : i) * 1000;
    const fire = {
      fireId: `t.j:${nominalMs}`,
      nominalTime: r.chance(0.1) ? `${iso(nominalMs).slice(0, 19)}+00:00` : iso(nominalMs),
      reason: r.pick(["schedule", "schedule", "catchUp", "trigger", "retry"] as const),
      attempt: r.pick([1, 1, 1, 2]),
      last: false,
      maxTryCount: 50,
      ...(r.chance(0.8) ? { nextNominalTime: iso(nominalMs + 1000) } : {}),
    } as unknown as FireMessage;
    clock += 1 + Math.floor(r.next() * 900);
    const startedIso = iso(clock);
    clock += Math.floor(r.next() * 50);
    runs.push({
      fire,
      result: r.pick([undefined, 1, "ok", { n: i }]),
      startedIso,
      finishedAt: new Date(clock),
    });
  }
  return { rec: { def, state }, runs };
}

const backoff = { baseMs: 1000, maxMs: 60_000, random: () => 0.5 };
const oneByOne = (rec: JobRecord, runs: Run[]) =>
  runs.reduce(
    (cur, run) =>
      applyResult(
        cur,
        run.fire,
        { kind: "succeeded", result: run.result },
        run.startedIso,
        run.finishedAt,
        backoff,
      ).record,
    rec,
  );
const folded = (runs: Run[]) => {
  const p = new PendingRuns();
  for (const run of runs) p.add(run.fire, run.result, run.startedIso, run.finishedAt);
  return p;
};

describe("PendingRuns", () => {
  it("leaves the record as applyResult run by run does (1,000 random cases)", () => {
    for (let seed = 1; seed <= 1000; seed++) {
      const { rec, runs } = makeCase(seed);
      expect(folded(runs).applyTo(rec), `seed ${seed}`).toStrictEqual(oneByOne(rec, runs));
    }
  });

  it("appending the newer runs equals folding them all (a failed write tried again)", () => {
    for (let seed = 1001; seed <= 1500; seed++) {
      const { rec, runs } = makeCase(seed);
      const cut = seed % (runs.length + 1);
      const older = folded(runs.slice(0, cut));
      older.append(folded(runs.slice(cut)));
      expect(older.size).toBe(runs.length);
      expect(older.applyTo(rec), `seed ${seed}`).toStrictEqual(oneByOne(rec, runs));
    }
  });
});

describe("ranAlready", () => {
  const fire = (nominalMs: number, attempt = 1) => ({ fireId: `t.j:${nominalMs}`, attempt });
  const rec = (doneRuns: string[] | undefined) =>
    ({ def: {}, state: { status: "queuing", doneRuns } }) as unknown as JobRecord;

  it("answers from each doneRuns array as it is, asked many times", () => {
    const first = rec(["100", "200:a2"]);
    expect(ranAlready(first, fire(100))).toBe(true);
    expect(ranAlready(first, fire(200))).toBe(false);
    expect(ranAlready(first, fire(200, 2))).toBe(true);
    // the next write makes a new array: its answers are its own, not the first one's
    const later = rec([...first.state.doneRuns!.slice(1), "300"]);
    expect(ranAlready(later, fire(100))).toBe(false);
    expect(ranAlready(later, fire(300))).toBe(true);
    expect(ranAlready(first, fire(300))).toBe(false);
    expect(ranAlready(rec(undefined), fire(100))).toBe(false);
    expect(ranAlready(rec([]), fire(100))).toBe(false);
  });
});
