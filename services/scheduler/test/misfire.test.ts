/**
 * Misfire policies after a gap without a leader (stop, clock moves on, a new service starts) and after a
 * pause; every skipped fire leaves a run-log entry, a CloudEvents `skipped` event and a skippedCount.
 */
import { describe, expect, it } from "vitest";
import type { Msg } from "@nats-io/nats-core";
import type { JobEventData } from "@taskjet/protocol";
import type { SkippedLogEntry } from "../src/index.js";
import {
  api,
  FireCollector,
  iso,
  ManualClock,
  namespace,
  readJob,
  runLog,
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

const MIN = 60_000;

/** Queues a job, fires its first nominal, stops the service, moves the clock, starts a new service. */
async function gap(job: Record<string, unknown>, gapToMs: number, firstFireMs: number) {
  const prefix = uniqueName("m");
  const ns = namespace(prefix);
  const clock = new ManualClock(T0);
  const a = await startLeader(testOptions(nc, prefix, { clock }));
  const fires = await FireCollector.start(nc, ns);
  cleanups.push(() => fires.stop());
  const events: { data: JobEventData; headers: Record<string, string> }[] = [];
  const sub = nc.subscribe(ns.eventFilter({ phase: "skipped" }), {
    callback: (_e, m: Msg) => {
      const headers: Record<string, string> = {};
      for (const k of m.headers?.keys() ?? []) headers[k] = m.headers!.get(k);
      events.push({ data: JSON.parse(new TextDecoder().decode(m.data)) as JobEventData, headers });
    },
  });
  cleanups.push(() => sub.unsubscribe());
  await api(nc, prefix, "queue", { id: "j", name: "j", type: "noop", ...job });
  clock.advance(firstFireMs - T0);
  await fires.waitFires("j", 1);
  await a.stop();
  clock.set(gapToMs);
  const b = await startLeader(testOptions(nc, prefix, { clock }));
  cleanups.push(() => b.stop());
  return { prefix, clock, fires, events, b };
}

const skippedEntries = async (prefix: string) =>
  (await runLog(nc, prefix, "default", "j")).filter((e) => e.outcome === "skipped") as SkippedLogEntry[];

describe("misfire policies after a gap without a leader", () => {
  const perMinute = { jobType: "period", cron: "0 * * * * ?" };
  const now = T0 + 10 * MIN + 30_000;

  it("fireOnce (default): fires the latest missed one, records the rest as skipped", async () => {
    const { prefix, fires, events } = await gap(perMinute, now, T0 + MIN);
    await fires.waitFires("j", 2);
    expect(fires.of("j")[1]!.msg).toMatchObject({ nominalTime: iso(T0 + 10 * MIN), reason: "catchUp" });
    const skipped = await waitFor(async () => {
      const s = await skippedEntries(prefix);
      return s.length === 8 ? s : undefined;
    });
    expect(skipped.map((e) => e.nominalTime)).toEqual([2, 3, 4, 5, 6, 7, 8, 9].map((m) => iso(T0 + m * MIN)));
    expect(skipped[0]).toMatchObject({
      outcome: "skipped",
      reason: "misfire",
      jobId: "j",
      tenantId: "default",
    });
    await waitFor(() => events.length === 8, { message: "skipped events" });
    expect(events[0]!.headers).toMatchObject({
      "ce-specversion": "1.0",
      "ce-type": "io.taskjet.job.skipped",
      "Content-Type": "application/json",
    });
    expect(events[0]!.headers["ce-id"]).toBeTruthy();
    expect(events[0]!.headers["ce-time"]).toBeTruthy();
    expect(events[0]!.headers["ce-source"]).toContain("/taskjet/scheduler/");
    expect(events[0]!.data).toMatchObject({ phase: "skipped", reason: "misfire", key: "default.default.j" });
    const job = await waitFor(async () => {
      const j = await readJob(nc, prefix, "default.default.j");
      return j?.state.skippedCount === 8 ? j : undefined;
    });
    expect(job.state.lastFireTime).toBe(iso(T0 + 10 * MIN));
    expect(fires.of("j")).toHaveLength(2);
  });

  it("skip: records every missed fire, fires the next future one", async () => {
    const { prefix, fires, clock } = await gap({ ...perMinute, misfirePolicy: "skip" }, now, T0 + MIN);
    const skipped = await waitFor(async () => {
      const s = await skippedEntries(prefix);
      return s.length === 9 ? s : undefined;
    });
    expect(skipped.at(-1)!.nominalTime).toBe(iso(T0 + 10 * MIN));
    expect(fires.of("j")).toHaveLength(1);
    clock.advance(30_000);
    await fires.waitFires("j", 2);
    expect(fires.of("j")[1]!.msg).toMatchObject({ nominalTime: iso(T0 + 11 * MIN), reason: "schedule" });
    await waitFor(async () => (await readJob(nc, prefix, "default.default.j"))?.state.skippedCount === 9);
  });

  it("fireAll: fires every missed one inside catchUpWindowSeconds, records older ones as skipped", async () => {
    const { prefix, fires } = await gap(
      { ...perMinute, misfirePolicy: "fireAll", catchUpWindowSeconds: 300 },
      now,
      T0 + MIN,
    );
    await fires.waitFires("j", 6);
    expect(fires.nominals("j").slice(1)).toEqual([6, 7, 8, 9, 10].map((m) => iso(T0 + m * MIN)));
    expect(
      fires
        .of("j")
        .slice(1)
        .every((f) => f.msg.reason === "catchUp"),
    ).toBe(true);
    const skipped = await waitFor(async () => {
      const s = await skippedEntries(prefix);
      return s.length === 4 ? s : undefined;
    });
    expect(skipped.map((e) => e.nominalTime)).toEqual([2, 3, 4, 5].map((m) => iso(T0 + m * MIN)));
  });

  it("a huge gap becomes one summary entry with a count, not millions of records", async () => {
    const twoDays = T0 + 2 * 86_400_000 + 500;
    const { prefix, fires } = await gap(
      { jobType: "period", cron: "* * * * * ?", misfirePolicy: "skip" },
      twoDays,
      T0 + 1_000,
    );
    const [summary] = await waitFor(async () => {
      const s = await skippedEntries(prefix);
      return s.length > 0 ? s : undefined;
    });
    expect(summary!.count).toBeGreaterThan(2 * 86_400 - 10);
    expect(summary!.approximate).toBe(true);
    expect(summary!.nominalTime).toBe(iso(T0 + 2_000));
    expect(summary!.throughNominalTime).toBe(iso(T0 + 2 * 86_400_000));
    const job = await waitFor(async () => {
      const j = await readJob(nc, prefix, "default.default.j");
      return (j?.state.skippedCount ?? 0) > 0 ? j : undefined;
    });
    expect(job.state.skippedCount).toBe(summary!.count);
    expect(fires.of("j")).toHaveLength(1);
  });
});

describe("misfires at the end of a pause", () => {
  it("resume replays the paused period through the misfire policy (fireOnce)", async () => {
    const { prefix, clock, fires, service } = await leaderWithFires(T0, {}, "p");
    await api(nc, prefix, "queue", {
      id: "j",
      name: "j",
      type: "noop",
      jobType: "period",
      cron: "0 * * * * ?",
    });
    clock.advance(MIN);
    await fires.waitFires("j", 1);
    await api(nc, prefix, "pause", { id: "j" });
    // the leader records how far the job was fired when it sees the pause
    await waitFor(
      async () => (await readJob(nc, prefix, "default.default.j"))?.state.lastFireTime === iso(T0 + MIN),
    );
    for (let i = 0; i < 9; i++) clock.advance(MIN);
    clock.advance(30_000);
    // the leader has looked at T0 + 10.5 min and has nothing in flight: a paused fire would be out by now
    await settled(service, fires);
    expect(fires.of("j")).toHaveLength(1);
    await api(nc, prefix, "resume", { id: "j" });
    await fires.waitFires("j", 2);
    expect(fires.of("j")[1]!.msg).toMatchObject({ nominalTime: iso(T0 + 10 * MIN), reason: "catchUp" });
    const skipped = await waitFor(async () => {
      const l = (await runLog(nc, prefix, "default", "j")).filter((e) => e.outcome === "skipped");
      return l.length === 8 ? l : undefined;
    });
    expect(skipped[0]!.nominalTime).toBe(iso(T0 + 2 * MIN));
  });

  it("a short pause (below the threshold) fires the missed ones late", async () => {
    const { prefix, clock, fires } = await leaderWithFires(T0, {}, "p");
    await api(nc, prefix, "queue", {
      id: "j",
      name: "j",
      type: "noop",
      jobType: "period",
      cron: "*/10 * * * * ?",
    });
    clock.advance(10_000);
    await fires.waitFires("j", 1);
    await api(nc, prefix, "pause", { id: "j" });
    await waitFor(
      async () => (await readJob(nc, prefix, "default.default.j"))?.state.lastFireTime === iso(T0 + 10_000),
    );
    clock.advance(25_000);
    await api(nc, prefix, "resume", { id: "j" });
    await fires.waitFires("j", 3);
    expect(fires.nominals("j")).toEqual([iso(T0 + 10_000), iso(T0 + 20_000), iso(T0 + 30_000)]);
    expect(fires.of("j")[1]!.msg.reason).toBe("schedule");
  });
});
