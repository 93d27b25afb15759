/**
 * The quartz dialect's grammar (issue 21): what Quartz documents is accepted and fires where Quartz fires
 * (times checked against Quartz 2.3.2); what Quartz rejects is an INVALID_ARGUMENT on `cron` that says
 * what Quartz requires. Runs without java; quartzDifferential.test.ts covers the same ground against Quartz.
 */
import { describe, expect, it } from "vitest";
import { compileCron, ValidationError, type CronSpec } from "@taskjet/protocol";

const spec = (expression: string, timeZone = "UTC"): CronSpec => ({
  expression,
  dialect: "quartz",
  timeZone,
  dstRule: "quartz",
});
const from = Date.parse("2026-01-05T10:00:00Z"); // a Monday
function fires(expression: string, n = 3, after = from): string[] {
  const s = compileCron(spec(expression));
  const out: string[] = [];
  for (let t: number | undefined = after, i = 0; i < n && t !== undefined; i++) {
    t = s.next(t);
    if (t !== undefined) out.push(new Date(t).toISOString().replace(".000", ""));
  }
  return out;
}
function rejection(expression: string): ValidationError {
  try {
    compileCron(spec(expression));
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error(`"${expression}" was accepted`);
}

describe("quartz grammar: accepted as Quartz documents it", () => {
  it("L-n in day of month (the tutorial's 0 15 10 L-2 * ?)", () => {
    expect(fires("0 15 10 L-2 * ?", 2)).toEqual(["2026-01-29T10:15:00Z", "2026-02-26T10:15:00Z"]);
  });
  it("L alone in day of week is Saturday", () => {
    expect(fires("0 0 0 ? * L", 2)).toEqual(["2026-01-10T00:00:00Z", "2026-01-17T00:00:00Z"]);
  });
  it("nL, LW, L-nW and nW", () => {
    expect(fires("0 0 12 ? * 6L", 1)).toEqual(["2026-01-30T12:00:00Z"]);
    expect(fires("0 0 12 LW * ?", 2)).toEqual(["2026-01-30T12:00:00Z", "2026-02-27T12:00:00Z"]);
    expect(fires("0 0 12 L-3W * ?", 1)).toEqual(["2026-01-28T12:00:00Z"]);
    // 2026-08-01 is a Saturday: 1W does not jump back into July
    expect(fires("0 0 12 1W * ?", 1, Date.parse("2026-07-15T00:00:00Z"))).toEqual(["2026-08-03T12:00:00Z"]);
  });
  it("wrap-around ranges: 22-2 hours, FRI-MON, NOV-FEB, 55-5 seconds", () => {
    expect(fires("0 0 22-2 * * ?", 5)).toEqual([
      "2026-01-05T22:00:00Z",
      "2026-01-05T23:00:00Z",
      "2026-01-06T00:00:00Z",
      "2026-01-06T01:00:00Z",
      "2026-01-06T02:00:00Z",
    ]);
    expect(fires("0 0 12 ? * FRI-MON", 4)).toEqual([
      "2026-01-05T12:00:00Z",
      "2026-01-09T12:00:00Z",
      "2026-01-10T12:00:00Z",
      "2026-01-11T12:00:00Z",
    ]);
    expect(fires("0 0 0 1 NOV-FEB ?", 2)).toEqual(["2026-02-01T00:00:00Z", "2026-11-01T00:00:00Z"]);
    expect(fires("55-5 0 11 * * ?", 3)).toEqual([
      "2026-01-05T11:00:00Z",
      "2026-01-05T11:00:01Z",
      "2026-01-05T11:00:02Z",
    ]);
  });
  it("names in any case, # and years", () => {
    expect(fires("0 0 12 ? * mon#2", 1)).toEqual(["2026-01-12T12:00:00Z"]);
    expect(fires("0 0 12 1 1 ? 2027/2", 2)).toEqual(["2027-01-01T12:00:00Z", "2029-01-01T12:00:00Z"]);
  });
});

describe("quartz grammar: rejected as Quartz rejects it, saying what Quartz requires", () => {
  const cases: [string, RegExp][] = [
    ["0 0 12 1 * MON", /"\?" in exactly one of day-of-month and day-of-week/],
    ["0 0 12 * * MON-FRI", /"\?" in exactly one.*e\.g\. "0 0 12 \? \* MON-FRI"/],
    ["0 0 12 ? * ?", /"\?" in exactly one .* in both/],
    ["0 0 0 L,15 * ?", /only as the field's single value/],
    ["0 0 0 ? * 5L,6", /only as the field's single value/],
    ["0 0 0 ? * 6#3,2#1", /only as the field's single value/],
    ["0/60 * * * * ?", /steps of 1-59/],
    ["0 0 0/24 * * ?", /steps of 1-23/],
    ["0 0 0 ? * 8", /outside 1-7 \(SUN=1 .. SAT=7\)/],
    ["0 0 0 L-31 * ?", /0-30/],
    ["0 0 0 ? * 6#6", /1-5 after #/],
    ["0 0 12X * * ?", /not a value, range or step/],
    ["0 0 12 15W,20 * ?", /single value/],
    ["*/5 * * * *", /cronDialect to "standard"/],
    ["0 0 0 * * ? * 5", /6 or 7 fields/],
  ];
  for (const [expression, message] of cases) {
    it(`rejects ${expression}`, () => {
      const err = rejection(expression);
      expect(err.code).toBe("INVALID_ARGUMENT");
      expect(err.field).toBe("cron");
      expect(err.message).toMatch(message);
    });
  }
  it("the quartz DST rule needs the quartz dialect", () => {
    const err = (() => {
      try {
        compileCron({ expression: "0 0 * * *", dialect: "standard", timeZone: "UTC", dstRule: "quartz" });
      } catch (e) {
        return e as ValidationError;
      }
      throw new Error("accepted");
    })();
    expect(err.field).toBe("dstRule");
  });
});
