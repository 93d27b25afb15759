/** The overview sampler's arithmetic and bounds (pure: events are handed to it, no NATS). */
import { describe, expect, it } from "vitest";
import type { JobEvent, TaskjetClient } from "@taskjet/client";
import { OverviewSampler } from "../src/dashboard/overviewSampler.js";

const noClient = {} as TaskjetClient;

function event(
  phase: "before" | "after",
  opts: { attempt?: number; latenessMs?: number; error?: string } = {},
) {
  const nominal = Date.parse("2026-12-07T10:00:00.000Z");
  return {
    phase,
    time: new Date(nominal + (opts.latenessMs ?? 0)).toISOString(),
    data: {
      attempt: opts.attempt ?? 1,
      nominalTime: new Date(nominal).toISOString(),
      runTime: new Date(nominal + (opts.latenessMs ?? 0)).toISOString(),
      ...(opts.error ? { error: opts.error } : {}),
    },
  } as unknown as JobEvent;
}

describe("OverviewSampler", () => {
  it("turns an interval's events into rates, a failure rate and lateness quantiles", () => {
    const s = new OverviewSampler(noClient, 10);
    const t0 = Date.now();
    s.sample(t0); // start an interval at t0
    for (let i = 1; i <= 100; i++) s.record(event("before", { latenessMs: i }));
    s.record(event("before", { attempt: 2, latenessMs: 5 })); // a retry: a run, not a fire
    for (let i = 0; i < 40; i++) s.record(event("after", i < 10 ? { error: "boom" } : {}));
    const sample = s.sample(t0 + 10_000);
    expect(sample).toMatchObject({
      firesPerSecond: 10,
      runsPerSecond: 4,
      failureRate: 0.25,
      latenessP50Ms: 50,
      latenessP99Ms: 99,
    });
    // an interval without events: zero rates, no failure rate, no lateness
    expect(s.sample(t0 + 20_000)).toMatchObject({
      firesPerSecond: 0,
      runsPerSecond: 0,
      failureRate: null,
      latenessP50Ms: null,
    });
  });

  it("keeps one hour of samples and a bounded number of lateness values per interval", () => {
    const s = new OverviewSampler(noClient, 5);
    expect(s.capacity).toBe(720);
    const t0 = Date.now();
    for (let i = 1; i <= 1_000; i++) s.sample(t0 + i * 5_000);
    const samples = s.samples();
    expect(samples).toHaveLength(720);
    expect(samples[0]?.at).toBe(new Date(t0 + 281 * 5_000).toISOString());
    // a burst of 100,000 runs in one interval: the quantiles come from a bounded reservoir
    for (let i = 0; i < 100_000; i++) s.record(event("before", { latenessMs: i % 1000 }));
    const big = s.sample(t0 + 1_001 * 5_000);
    expect(big.firesPerSecond).toBe(20_000);
    expect(big.latenessP50Ms).toBeGreaterThan(400);
    expect(big.latenessP50Ms).toBeLessThan(600);
  });
});
