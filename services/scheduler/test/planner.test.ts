/** Pure logic: schedules, the cron timeline cache, and the planner's misfire/overlap/count decisions. */
import { describe, expect, it } from "vitest";
import {
  compileCron,
  encode,
  initialState,
  parseJobInput,
  type JobState,
  type StoredJob,
} from "@taskjet/protocol";
import { JobEntry, packRaw } from "../src/view/jobEntry.js";
import { enumerate, planSchedule, type PlannerLimits } from "../src/plan/planner.js";
import { CronTimeline, JobSchedule } from "../src/view/schedule.js";

const T0 = Date.parse("2026-03-02T10:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
const limits: PlannerLimits = {
  misfireThresholdMs: 60_000,
  misfireEnumerationLimit: 1_000,
  maxCatchUpFires: 1_000,
  skipDetailLimit: 100,
};

function entry(input: Record<string, unknown>, state: Partial<JobState> = {}): JobEntry {
  const parsed = parseJobInput({ name: "j", type: "t", ...input });
  const def = { ...parsed, id: parsed.id ?? "j" };
  const job: StoredJob = { def, state: { ...initialState(iso(T0)), ...state }, revision: 1 };
  const e = new JobEntry(`default.default.${def.id}`);
  e.apply(job, packRaw(encode({ def: job.def, state: job.state })), job.revision);
  return e;
}

describe("schedule", () => {
  it("the cron timeline gives exactly croner's sequence, from any starting point", () => {
    const spec = {
      expression: "0 0/7 * * * ?",
      dialect: "quartz" as const,
      timeZone: "Europe/Berlin",
      dstRule: "single-value" as const,
    };
    const direct = compileCron(spec);
    const tl = new CronTimeline(direct);
    let t = Date.parse("2026-10-24T23:00:00Z");
    for (let i = 0; i < 300; i++) {
      const after = t + (i % 3 === 0 ? 1 : 0);
      expect(tl.next(after)).toBe(direct.next(after));
      t = direct.next(t)!;
    }
    // jumping back and forth between distant points keeps agreeing
    for (const p of [
      Date.parse("2026-01-01T00:00:00Z"),
      Date.parse("2026-10-25T00:59:00Z"),
      Date.parse("2026-01-01T00:03:00Z"),
    ]) {
      expect(tl.next(p)).toBe(direct.next(p));
    }
  });

  it("persistent: anchor + k * interval; once: beginTime, delay or now; endTime bounds all", () => {
    const p = new JobSchedule(
      {
        ...parseJobInput({
          name: "p",
          type: "t",
          jobType: "persistent",
          intervalSeconds: 10,
          beginTime: iso(T0),
        }),
      },
      T0 - 5_000,
    );
    expect(p.next(T0 - 1)).toBe(T0);
    expect(p.next(T0)).toBe(T0 + 10_000);
    expect(p.next(T0 + 25_000)).toBe(T0 + 30_000);
    expect(p.latestAtOrBefore(T0 + 25_000, T0 - 1)).toBe(T0 + 20_000);
    expect(p.countBetween(T0 - 1, T0 + 25_000)).toBe(3);
    const noBegin = new JobSchedule(
      parseJobInput({ name: "p", type: "t", jobType: "persistent", intervalSeconds: 10 }),
      T0,
    );
    expect(noBegin.next(Number.NEGATIVE_INFINITY)).toBe(T0 + 10_000);
    const delay = new JobSchedule(parseJobInput({ name: "o", type: "t", intervalSeconds: 3 }), T0);
    expect(delay.next(Number.NEGATIVE_INFINITY)).toBe(T0 + 3_000);
    expect(delay.next(T0 + 3_000)).toBeUndefined();
    const ended = new JobSchedule(
      parseJobInput({
        name: "c",
        type: "t",
        jobType: "period",
        cron: "* * * * * ?",
        endTime: iso(T0 + 2_000),
      }),
      T0,
    );
    expect(enumerate(ended, T0, T0 + 60_000, 100).times).toEqual([T0 + 1_000, T0 + 2_000]);
  });

  it("latestAtOrBefore finds the last fire of a huge gap without walking it", () => {
    const s = new JobSchedule(
      parseJobInput({ name: "c", type: "t", jobType: "period", cron: "* * * * * ?" }),
      T0,
    );
    const t = performance.now();
    expect(s.latestAtOrBefore(T0 + 86_400_000 * 30 + 500, T0)).toBe(T0 + 86_400_000 * 30);
    expect(performance.now() - t).toBeLessThan(500);
  });
});

describe("planner", () => {
  const cronJob = (policy: string, extra: Record<string, unknown> = {}) =>
    entry({ jobType: "period", cron: "0 * * * * ?", misfirePolicy: policy, ...extra });

  it("fires late fires within the threshold as scheduled", () => {
    const e = cronJob("fireOnce");
    const plan = planSchedule(e, T0 + 60_000, T0 + 60_000 + 59_000, limits);
    expect(plan.fires.map((f) => [f.nominalMs, f.reason])).toEqual([[T0 + 60_000, "schedule"]]);
    expect(plan.skips).toEqual([]);
    expect(plan.nextDueMs).toBe(T0 + 120_000);
  });

  it("fireOnce fires the latest missed one and records the rest as skipped", () => {
    const e = cronJob("fireOnce");
    const now = T0 + 10 * 60_000 + 30_000;
    const plan = planSchedule(e, T0 + 60_000, now, limits);
    expect(plan.fires.map((f) => [iso(f.nominalMs), f.reason])).toEqual([[iso(T0 + 600_000), "catchUp"]]);
    expect(plan.skips).toHaveLength(1);
    expect(plan.skips[0]).toMatchObject({
      fromMs: T0 + 60_000,
      toMs: T0 + 540_000,
      count: 9,
      approximate: false,
    });
    expect(plan.skips[0]!.times).toHaveLength(9);
    expect(plan.consumedThroughMs).toBe(T0 + 600_000);
    expect(plan.nextDueMs).toBe(T0 + 660_000);
  });

  it("skip records every missed fire and waits for the next future one", () => {
    const plan = planSchedule(cronJob("skip"), T0 + 60_000, T0 + 10 * 60_000 + 30_000, limits);
    expect(plan.fires).toEqual([]);
    expect(plan.skips[0]).toMatchObject({ count: 10, toMs: T0 + 600_000 });
    expect(plan.nextDueMs).toBe(T0 + 660_000);
  });

  it("fireAll fires every missed one inside the catch-up window and skips older ones", () => {
    const e = cronJob("fireAll", { catchUpWindowSeconds: 300 });
    const now = T0 + 10 * 60_000 + 30_000;
    const plan = planSchedule(e, T0 + 60_000, now, limits);
    const windowStart = now - 300_000;
    expect(plan.fires.map((f) => f.nominalMs)).toEqual([6, 7, 8, 9, 10].map((m) => T0 + m * 60_000));
    expect(plan.fires.every((f) => f.reason === "catchUp" && f.nominalMs >= windowStart)).toBe(true);
    expect(plan.skips[0]).toMatchObject({ fromMs: T0 + 60_000, toMs: T0 + 300_000, count: 5 });
    expect(plan.fires.map((f) => f.nextNominalMs)).toEqual([7, 8, 9, 10, 11].map((m) => T0 + m * 60_000));
  });

  it("summarises a gap longer than the enumeration limit as one counted range", () => {
    const e = entry({ jobType: "period", cron: "* * * * * ?", misfirePolicy: "skip" });
    const now = T0 + 3 * 86_400_000;
    const plan = planSchedule(e, T0 + 1_000, now, limits);
    expect(plan.skips).toHaveLength(1);
    const r = plan.skips[0]!;
    expect(r.times).toBeUndefined();
    expect(r.fromMs).toBe(T0 + 1_000);
    expect(r.toMs).toBe(now);
    expect(r.approximate).toBe(true);
    expect(Math.abs(r.count - 3 * 86_400)).toBeLessThan(5);
    const p = entry({
      jobType: "persistent",
      intervalSeconds: 1,
      beginTime: iso(T0 + 1_000),
      misfirePolicy: "skip",
    });
    const exact = planSchedule(p, T0 + 1_000, now, limits).skips[0]!;
    expect(exact).toMatchObject({ count: 3 * 86_400, approximate: false });
  });

  it("stops at maxCount: the last fire is marked, nothing after it", () => {
    const e = entry({ jobType: "period", cron: "* * * * * ?", maxCount: 5 }, { triggerCount: 4 });
    const plan = planSchedule(e, T0 + 1_000, T0 + 1_000, limits);
    expect(plan.fires.map((f) => f.last)).toEqual([true]);
    expect(plan.finished).toBe(true);
    expect(plan.nextDueMs).toBeUndefined();
    const over = entry({ jobType: "period", cron: "* * * * * ?", maxCount: 5 }, { triggerCount: 5 });
    expect(planSchedule(over, T0 + 1_000, T0 + 1_000, limits)).toMatchObject({ fires: [], finished: true });
  });

  it("overlap: skip / bufferOne / replace while a run is recorded", () => {
    const running = [
      { fireId: "x", nominalTime: iso(T0), worker: "w", node: "n", startedAt: iso(T0), attempt: 1 },
    ];
    const skip = planSchedule(
      entry({ jobType: "period", cron: "* * * * * ?", overlapPolicy: "skip" }, { running }),
      T0 + 1_000,
      T0 + 1_000,
      limits,
    );
    expect(skip.fires).toEqual([]);
    expect(skip.skips[0]).toMatchObject({ count: 1, reason: expect.stringContaining("overlap") });
    const buf = planSchedule(
      entry({ jobType: "period", cron: "* * * * * ?", overlapPolicy: "bufferOne" }, { running }),
      T0 + 1_000,
      T0 + 1_000,
      limits,
    );
    expect(buf).toMatchObject({ fires: [], skips: [], bufferMs: T0 + 1_000 });
    const full = planSchedule(
      entry(
        { jobType: "period", cron: "* * * * * ?", overlapPolicy: "bufferOne" },
        { running, buffered: iso(T0) },
      ),
      T0 + 1_000,
      T0 + 1_000,
      limits,
    );
    expect(full.fires).toEqual([]);
    expect(full.skips[0]!.reason).toContain("buffered");
    const rep = planSchedule(
      entry({ jobType: "period", cron: "* * * * * ?", overlapPolicy: "replace" }, { running }),
      T0 + 1_000,
      T0 + 1_000,
      limits,
    );
    expect(rep.interrupt).toBe(true);
    expect(rep.fires).toHaveLength(1);
    const allow = planSchedule(
      entry({ jobType: "period", cron: "* * * * * ?" }, { running }),
      T0 + 1_000,
      T0 + 1_000,
      limits,
    );
    expect(allow).toMatchObject({ interrupt: false, skips: [] });
    expect(allow.fires).toHaveLength(1);
  });

  it("keeps per-job memory small", () => {
    const e = entry({ jobType: "period", cron: "* * * * * ?", args: { to: "someone@example.com" } });
    expect(typeof e.raw).toBe("string"); // one byte per char, no ArrayBuffer bookkeeping per job
    expect(e.raw.length).toBeLessThan(600);
    expect(e.record()).toEqual({
      def: expect.objectContaining({ cron: "* * * * * ?", args: { to: "someone@example.com" } }),
      state: expect.objectContaining({ status: "queuing" }),
    });
  });
});
