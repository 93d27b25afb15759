import { describe, expect, it } from "vitest";
import { compileCron, nextFireTimes, ValidationError, type CronSpec } from "@taskjet/protocol";

const quartz = (expression: string, timeZone = "UTC"): CronSpec => ({
  expression,
  dialect: "quartz",
  timeZone,
  dstRule: "single-value",
});
const standard = (expression: string, timeZone = "UTC"): CronSpec => ({
  ...quartz(expression, timeZone),
  dialect: "standard",
});
const from = Date.parse("2026-01-05T10:00:00Z"); // a Monday
const next3 = (spec: CronSpec) => {
  const s = compileCron(spec);
  const out: string[] = [];
  let t = from;
  for (let i = 0; i < 3; i++) {
    t = s.next(t)!;
    out.push(new Date(t).toISOString());
  }
  return out;
};

describe("cron: the seed's Quartz strings, exactly as written", () => {
  it("0/5 * * * * ? (numeric-prefix step, ?, trailing space)", () => {
    expect(next3(quartz("0/5 * * * * ? "))).toEqual([
      "2026-01-05T10:00:05.000Z",
      "2026-01-05T10:00:10.000Z",
      "2026-01-05T10:00:15.000Z",
    ]);
  });
  it("0/30 * * * * ? ", () => {
    expect(next3(quartz("0/30 * * * * ? "))[0]).toBe("2026-01-05T10:00:30.000Z");
  });
  it("0 0 0/2 * * ? ", () => {
    expect(next3(quartz("0 0 0/2 * * ? "))).toEqual([
      "2026-01-05T12:00:00.000Z",
      "2026-01-05T14:00:00.000Z",
      "2026-01-05T16:00:00.000Z",
    ]);
  });
  it("0 0/10 * * * ? * (7 fields with year)", () => {
    expect(next3(quartz("0 0/10 * * * ? *"))[0]).toBe("2026-01-05T10:10:00.000Z");
  });
  it("L, W and # forms", () => {
    expect(next3(quartz("0 0 12 L * ?"))[0]).toBe("2026-01-31T12:00:00.000Z");
    expect(next3(quartz("0 0 12 15W * ?"))[0]).toBe("2026-01-15T12:00:00.000Z");
    // Quartz 6#3 = third Friday (SUN=1)
    expect(next3(quartz("0 0 12 ? * 6#3"))[0]).toBe("2026-01-16T12:00:00.000Z");
  });
});

describe("cron: dialects", () => {
  it("weekday numbers: Quartz SUN=1, standard SUN=0", () => {
    // 2 is Monday in Quartz and Tuesday in standard cron
    expect(next3(quartz("0 0 12 ? * 2"))[0]).toBe("2026-01-05T12:00:00.000Z");
    expect(next3(standard("0 0 12 * * 2"))[0]).toBe("2026-01-06T12:00:00.000Z");
  });
  it("standard 5 and 6 field forms", () => {
    expect(next3(standard("*/15 * * * *"))[0]).toBe("2026-01-05T10:15:00.000Z");
    expect(next3(standard("30 * * * * *"))[0]).toBe("2026-01-05T10:00:30.000Z");
  });
  it("a 5-field string under quartz is rejected with a hint", () => {
    expect(() => compileCron(quartz("*/5 * * * *"))).toThrow(/cronDialect to "standard"/);
  });
});

describe("cron: bad input", () => {
  const bad: [string, CronSpec, string][] = [
    ["out of range second", quartz("61 * * * * ?"), "cron"],
    ["garbage", quartz("every monday"), "cron"],
    ["empty", quartz("   "), "cron"],
    ["Quartz weekday 8", quartz("0 0 12 ? * 8"), "cron"],
    ["unknown zone", quartz("0 0 12 * * ?", "Europe/Atlantis"), "timeZone"],
    ["never fires", quartz("0 0 0 30 2 ?"), "cron"],
  ];
  for (const [label, spec, field] of bad) {
    it(`rejects ${label}`, () => {
      try {
        compileCron(spec);
        throw new Error("unreachable");
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).field).toBe(field);
      }
    });
  }
});

describe("cron: time zones and DST", () => {
  it("fires at local time in the job's zone", () => {
    expect(next3(quartz("0 0 9 * * ?", "Asia/Tokyo"))[0]).toBe("2026-01-06T00:00:00.000Z");
  });
  it("spring forward: a fixed time inside the gap runs once, right after the gap", () => {
    // Europe/Berlin skips 02:00-03:00 local on 2026-03-29.
    const fires = nextFireTimes(
      quartz("0 30 2 * * ?", "Europe/Berlin"),
      3,
      Date.parse("2026-03-27T12:00:00Z"),
    );
    expect(fires.map((f) => f.iso)).toEqual([
      "2026-03-28T01:30:00.000Z",
      "2026-03-29T01:00:00.000Z", // 03:00 CEST, the first valid time after the gap
      "2026-03-30T00:30:00.000Z",
    ]);
    expect(fires[1]!.dstShift).toEqual({ fromOffset: "+01:00", toOffset: "+02:00" });
  });
  it("fall back: a fixed time that occurs twice runs once", () => {
    // Europe/Berlin repeats 02:00-03:00 local on 2026-10-25.
    const fires = nextFireTimes(
      quartz("0 30 2 * * ?", "Europe/Berlin"),
      3,
      Date.parse("2026-10-24T12:00:00Z"),
    );
    expect(fires.map((f) => f.iso)).toEqual([
      "2026-10-25T00:30:00.000Z", // first occurrence (CEST)
      "2026-10-26T01:30:00.000Z",
      "2026-10-27T01:30:00.000Z",
    ]);
  });
  it("fall back: an interval job runs through both passes of the repeated hour", () => {
    const fires = nextFireTimes(
      quartz("0 0/30 * * * ?", "Europe/Berlin"),
      4,
      Date.parse("2026-10-25T00:15:00Z"),
    );
    expect(fires.map((f) => f.iso)).toEqual([
      "2026-10-25T00:30:00.000Z",
      "2026-10-25T01:00:00.000Z",
      "2026-10-25T01:30:00.000Z",
      "2026-10-25T02:00:00.000Z",
    ]);
  });
  it("dstRule selects whether a list of hours is a fixed-time job", () => {
    const single = nextFireTimes(
      quartz("0 30 2,14 * * ?", "Europe/Berlin"),
      2,
      Date.parse("2026-10-24T22:00:00Z"),
    );
    const fixed = nextFireTimes(
      { ...quartz("0 30 2,14 * * ?", "Europe/Berlin"), dstRule: "no-wildcard" },
      2,
      Date.parse("2026-10-24T22:00:00Z"),
    );
    // interval rule: 02:30 runs in both passes; fixed-time rule: once
    expect(single.map((f) => f.iso)).toEqual(["2026-10-25T00:30:00.000Z", "2026-10-25T01:30:00.000Z"]);
    expect(fixed.map((f) => f.iso)).toEqual(["2026-10-25T00:30:00.000Z", "2026-10-25T13:30:00.000Z"]);
  });
});
