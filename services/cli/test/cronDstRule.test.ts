/** `taskjet cron --dst-rule`: previews with any DST rule, and says which rule (and dialect, zone) it used. */
import { beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, cleanEnv, runCli } from "./cliHarness.js";

describe("taskjet cron --dst-rule (pure, no NATS)", () => {
  beforeAll(assertBuilt);
  const env = cleanEnv({});
  const berlinSpring = [
    "0 30 2 * * ?",
    "--tz",
    "Europe/Berlin",
    "--count",
    "2",
    "--after",
    "2026-03-28T12:00:00Z",
  ];

  it("quartz: the spring-gap day is skipped, as in Quartz", async () => {
    const r = await runCli(["cron", ...berlinSpring, "--dst-rule", "quartz"], { env });
    expect(r.stderr).toBe("");
    const lines = r.stdout.trim().split("\n");
    expect(lines[1]).toContain("2026-03-30T00:30:00.000Z");
    expect(lines.at(-1)).toBe("dialect quartz, zone Europe/Berlin, DST rule quartz");
    expect(r.stdout.endsWith("DST rule quartz\n")).toBe(true);
  });

  it("without the flag: the default rule, named in the last line", async () => {
    const r = await runCli(["cron", ...berlinSpring], { env });
    const lines = r.stdout.trim().split("\n");
    expect(lines[1]).toContain("2026-03-29T01:00:00.000Z");
    expect(lines.at(-1)).toBe("dialect quartz, zone Europe/Berlin, DST rule single-value");
  });

  it("an unknown rule, or quartz with the standard dialect, exits 2 naming dstRule", async () => {
    const bad = await runCli(["cron", "0 0 * * * ?", "--dst-rule", "summer"], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error INVALID_ARGUMENT \(dstRule\): --dst-rule must be one of/);
    const standard = await runCli(["cron", "0 * * * *", "--dialect", "standard", "--dst-rule", "quartz"], {
      env,
    });
    expect(standard.code).toBe(2);
    expect(standard.stderr).toMatch(/^error INVALID_ARGUMENT \(dstRule\): /);
  });
});
