/**
 * Time, through the running scheduler with a ManualClock: DST transitions follow croner's rules per the
 * job's dstRule, and a backwards clock step never fires a nominal time twice (nor does a new leader whose
 * clock is behind).
 */
import { describe, expect, it } from "vitest";
import {
  api,
  FireCollector,
  iso,
  ManualClock,
  namespace,
  startLeader,
  T0,
  testOptions,
  uniqueName,
  waitFor,
  useNatsServer,
  nc,
  cleanups,
  leaderWithFires,
  settled,
} from "./harness.js";

useNatsServer();

async function setup(startIso: string) {
  const { prefix, clock, fires, service } = await leaderWithFires(startIso, {}, "c");
  /** Moves the clock to `targetMs` so that a timer due there fires exactly on time. */
  const advanceTo = async (targetMs: number) => {
    const lead = Math.min(200, targetMs - clock.now());
    clock.advance(targetMs - clock.now() - lead);
    await settled(service); // the loop has re-armed its timer for the next due time
    clock.advance(lead);
  };
  return { prefix, clock, fires, service, advanceTo };
}

/** Steps through the expected fire times and checks that exactly those fired, in order, on time. */
async function expectFires(startIso: string, job: Record<string, unknown>, expected: string[]) {
  const { prefix, fires, advanceTo } = await setup(startIso);
  await api(nc, prefix, "queue", { id: "dst", name: "dst", type: "noop", jobType: "period", ...job });
  for (let i = 0; i < expected.length; i++) {
    await advanceTo(Date.parse(expected[i]!));
    await fires.waitFires("dst", i + 1);
  }
  expect(fires.nominals("dst")).toEqual(expected);
  expect(fires.of("dst").every((f) => f.msg.reason === "schedule")).toBe(true);
}

describe("DST through the scheduler (Europe/Berlin, croner's rules)", () => {
  it("spring forward: a fixed time inside the gap runs once, right after the gap", async () => {
    await expectFires("2026-03-27T12:00:00Z", { cron: "0 30 2 * * ?", timeZone: "Europe/Berlin" }, [
      "2026-03-28T01:30:00.000Z",
      "2026-03-29T01:00:00.000Z", // 03:00 CEST
      "2026-03-30T00:30:00.000Z",
    ]);
  });

  it("fall back: a fixed time that occurs twice runs once", async () => {
    await expectFires("2026-10-24T12:00:00Z", { cron: "0 30 2 * * ?", timeZone: "Europe/Berlin" }, [
      "2026-10-25T00:30:00.000Z",
      "2026-10-26T01:30:00.000Z",
    ]);
  });

  it("fall back: an interval job runs through both passes of the repeated hour", async () => {
    await expectFires("2026-10-25T00:15:00Z", { cron: "0 0/30 * * * ?", timeZone: "Europe/Berlin" }, [
      "2026-10-25T00:30:00.000Z",
      "2026-10-25T01:00:00.000Z",
      "2026-10-25T01:30:00.000Z",
      "2026-10-25T02:00:00.000Z",
    ]);
  });

  it("dstRule single-value treats a list of hours as interval (both passes)", async () => {
    await expectFires("2026-10-24T22:00:00Z", { cron: "0 30 2,14 * * ?", timeZone: "Europe/Berlin" }, [
      "2026-10-25T00:30:00.000Z",
      "2026-10-25T01:30:00.000Z",
    ]);
  });

  it("dstRule no-wildcard treats a list of hours as fixed time (once)", async () => {
    await expectFires(
      "2026-10-24T22:00:00Z",
      { cron: "0 30 2,14 * * ?", timeZone: "Europe/Berlin", dstRule: "no-wildcard" },
      ["2026-10-25T00:30:00.000Z", "2026-10-25T13:30:00.000Z"],
    );
  });
});

describe("clock steps", () => {
  it("a backwards clock step never fires a nominal time twice", async () => {
    const { prefix, clock, fires, service } = await setup(iso(T0));
    await api(nc, prefix, "queue", {
      id: "j",
      name: "j",
      type: "noop",
      jobType: "period",
      cron: "* * * * * ?",
    });
    await fires.stepSeconds(clock, "j", 5);
    clock.set(T0 + 2_000); // NTP steps the wall clock back 3 s
    for (let i = 0; i < 6; i++) {
      clock.advance(1_000);
      await settled(service); // whatever this second holds is out, and the loop sleeps again
    }
    // wall clock is at T0 + 8 s again: 6, 7, 8 are new, 3..5 must not repeat
    await fires.waitFires("j", 8);
    await settled(service, fires);
    const nominals = fires.nominals("j");
    expect(nominals).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((s) => iso(T0 + s * 1_000)));
    expect(new Set(fires.of("j").map((f) => f.msgId)).size).toBe(8);
    // not even published twice (the stream would have stored a re-publish once, hiding it above)
    expect(fires.publishedTwice("j")).toEqual([]);
    expect(fires.publishedOf("j")).toHaveLength(8);
  });

  it("a new leader whose clock is behind resumes after the old leader's cursor", async () => {
    const prefix = uniqueName("c");
    const clockA = new ManualClock(T0);
    const a = await startLeader(testOptions(nc, prefix, { clock: clockA }));
    const fires = await FireCollector.start(nc, namespace(prefix));
    cleanups.push(() => fires.stop());
    await api(nc, prefix, "queue", {
      id: "j",
      name: "j",
      type: "noop",
      jobType: "period",
      cron: "* * * * * ?",
    });
    await fires.stepSeconds(clockA, "j", 5);
    await a.stop();
    const clockB = new ManualClock(T0 + 2_000); // 3 s behind
    const b = await startLeader(testOptions(nc, prefix, { clock: clockB }));
    cleanups.push(() => b.stop());
    for (let i = 0; i < 5; i++) {
      clockB.advance(1_000);
      await settled(b);
    }
    await fires.waitFires("j", 7);
    await settled(b, fires);
    await waitFor(() => b.metrics.cursorWrites > 0);
    expect(fires.nominals("j")).toEqual([1, 2, 3, 4, 5, 6, 7].map((s) => iso(T0 + s * 1_000)));
    expect(b.metrics.firesDuplicate).toBe(0);
  });
});
