/**
 * The `quartz` DST rule (issue 21): fire times at spring gaps and fall overlaps exactly as Quartz 2.3.2
 * gives them (every expected time below was printed by Quartz's CronExpression), including the seed's four
 * strings through Berlin's 2026 fall-back; and the default rule keeps its own, documented behaviour.
 */
import { describe, expect, it } from "vitest";
import { nextFireTimes, type CronSpec, type DstRule } from "@taskjet/protocol";

const spec = (expression: string, timeZone: string, dstRule: DstRule = "quartz"): CronSpec => ({
  expression,
  dialect: "quartz",
  timeZone,
  dstRule,
});
const times = (s: CronSpec, n: number, afterIso: string) =>
  nextFireTimes(s, n, Date.parse(afterIso)).map((f) => f.iso.replace(".000", ""));

describe("quartz DST rule: fixed times", () => {
  it("spring gap: 02:30 in Berlin on 2026-03-29 does not fire that day", () => {
    expect(times(spec("0 30 2 * * ?", "Europe/Berlin"), 3, "2026-03-28T10:00:00Z")).toEqual([
      "2026-03-30T00:30:00Z",
      "2026-03-31T00:30:00Z",
      "2026-04-01T00:30:00Z",
    ]);
    // the default rule runs it once right after the gap
    expect(times(spec("0 30 2 * * ?", "Europe/Berlin", "single-value"), 1, "2026-03-28T10:00:00Z")).toEqual([
      "2026-03-29T01:00:00Z",
    ]);
  });
  it("fall overlap: 01:30 in New York on 2026-11-01 fires at the second occurrence (EST)", () => {
    expect(times(spec("0 30 1 * * ?", "America/New_York"), 2, "2026-11-01T04:00:00Z")).toEqual([
      "2026-11-01T06:30:00Z",
      "2026-11-02T06:30:00Z",
    ]);
    expect(
      times(spec("0 30 1 * * ?", "America/New_York", "single-value"), 1, "2026-11-01T04:00:00Z"),
    ).toEqual(["2026-11-01T05:30:00Z"]);
  });
  it("fall overlap: 02:30 in Berlin on 2026-10-25 fires at the second occurrence (CET)", () => {
    expect(times(spec("0 30 2 * * ?", "Europe/Berlin"), 3, "2026-10-24T00:00:00Z")).toEqual([
      "2026-10-24T00:30:00Z",
      "2026-10-25T01:30:00Z",
      "2026-10-26T01:30:00Z",
    ]);
  });
});

describe("quartz DST rule: the seed's strings through Berlin's fall-back (2026-10-25, 03:00 CEST -> 02:00 CET)", () => {
  // The first pass of 02:00-03:00 is 00:00Z-01:00Z: Quartz leaves it without fires.
  it("0/5 * * * * ? ", () => {
    expect(times(spec("0/5 * * * * ? ", "Europe/Berlin"), 4, "2026-10-24T23:59:50Z")).toEqual([
      "2026-10-24T23:59:55Z",
      "2026-10-25T01:00:00Z",
      "2026-10-25T01:00:05Z",
      "2026-10-25T01:00:10Z",
    ]);
  });
  it("0/30 * * * * ? ", () => {
    expect(times(spec("0/30 * * * * ? ", "Europe/Berlin"), 3, "2026-10-24T23:59:00Z")).toEqual([
      "2026-10-24T23:59:30Z",
      "2026-10-25T01:00:00Z",
      "2026-10-25T01:00:30Z",
    ]);
  });
  it("0 0 0/2 * * ? ", () => {
    expect(times(spec("0 0 0/2 * * ? ", "Europe/Berlin"), 3, "2026-10-24T22:30:00Z")).toEqual([
      "2026-10-25T01:00:00Z",
      "2026-10-25T03:00:00Z",
      "2026-10-25T05:00:00Z",
    ]);
  });
  it("0 0/10 * * * ? *", () => {
    expect(times(spec("0 0/10 * * * ? *", "Europe/Berlin"), 4, "2026-10-24T23:45:00Z")).toEqual([
      "2026-10-24T23:50:00Z",
      "2026-10-25T01:00:00Z",
      "2026-10-25T01:10:00Z",
      "2026-10-25T01:20:00Z",
    ]);
    // the default rule fires through both passes
    expect(
      times(spec("0 0/10 * * * ? *", "Europe/Berlin", "single-value"), 2, "2026-10-24T23:45:00Z"),
    ).toEqual(["2026-10-24T23:50:00Z", "2026-10-25T00:00:00Z"]);
  });
});
