/**
 * The seed's four Quartz strings through a DST change, through the running scheduler with a ManualClock:
 * with `dstRule: "quartz"` they fire exactly at the instants Quartz 2.3.2 gives (each expected time was
 * printed by Quartz's CronExpression), across Europe/Berlin's 2026 fall-back (03:00 CEST -> 02:00 CET at
 * 01:00 UTC, whose first pass Quartz leaves without fires) and spring-forward.
 */
import { describe, expect, it } from "vitest";
import { api, leaderWithFires, nc, settled, useNatsServer } from "./harness.js";

useNatsServer();

/** Steps the clock through the expected fire times and checks exactly those fired, in order, on time. */
async function expectFires(startIso: string, cron: string, expected: string[]) {
  const { prefix, clock, fires, service } = await leaderWithFires(startIso, {}, "q");
  await api(nc, prefix, "queue", {
    id: "seed",
    name: "seed",
    type: "noop",
    jobType: "period",
    cron,
    timeZone: "Europe/Berlin",
    dstRule: "quartz",
  });
  for (let i = 0; i < expected.length; i++) {
    const target = Date.parse(expected[i]!);
    const lead = Math.min(200, target - clock.now());
    clock.advance(target - clock.now() - lead);
    await settled(service); // the loop has re-armed its timer for the next due time
    clock.advance(lead);
    await fires.waitFires("seed", i + 1);
  }
  expect(fires.nominals("seed")).toEqual(expected);
  expect(fires.of("seed").every((f) => f.msg.reason === "schedule")).toBe(true);
}

describe("the seed's strings through Berlin's fall-back, dstRule quartz (as Quartz)", () => {
  it("0/5 * * * * ? ", async () => {
    await expectFires("2026-10-24T23:59:50Z", "0/5 * * * * ? ", [
      "2026-10-24T23:59:55.000Z",
      "2026-10-25T01:00:00.000Z",
      "2026-10-25T01:00:05.000Z",
    ]);
  });
  it("0/30 * * * * ? ", async () => {
    await expectFires("2026-10-24T23:59:00Z", "0/30 * * * * ? ", [
      "2026-10-24T23:59:30.000Z",
      "2026-10-25T01:00:00.000Z",
      "2026-10-25T01:00:30.000Z",
    ]);
  });
  it("0 0 0/2 * * ? ", async () => {
    await expectFires("2026-10-24T22:30:00Z", "0 0 0/2 * * ? ", [
      "2026-10-25T01:00:00.000Z",
      "2026-10-25T03:00:00.000Z",
    ]);
  });
  it("0 0/10 * * * ? *", async () => {
    await expectFires("2026-10-24T23:45:00Z", "0 0/10 * * * ? *", [
      "2026-10-24T23:50:00.000Z",
      "2026-10-25T01:00:00.000Z",
      "2026-10-25T01:10:00.000Z",
    ]);
  });
  it("a fixed time in the spring gap does not fire that day", async () => {
    await expectFires("2026-03-28T10:00:00Z", "0 30 2 * * ?", ["2026-03-30T00:30:00.000Z"]);
  });
});
