/**
 * Overlap policies: a fire is due while the previous run is recorded in state.running (written here with
 * compare-and-set, as a worker would).
 */
import { describe, expect, it } from "vitest";
import { decode, fireIdOf, type RunInfo } from "@taskjet/protocol";
import type { InterruptMessage } from "../src/index.js";
import {
  api,
  iso,
  namespace,
  readJob,
  runLog,
  T0,
  waitFor,
  writeState,
  useNatsServer,
  nc,
  cleanups,
  leaderWithFires,
  settled,
} from "./harness.js";

useNatsServer();

const KEY = "default.default.j";

async function setup(overlapPolicy: string, extra: Record<string, unknown> = {}) {
  const { prefix, clock, fires, service } = await leaderWithFires(T0, {}, "o");
  await api(nc, prefix, "queue", {
    id: "j",
    name: "j",
    type: "noop",
    jobType: "period",
    cron: "* * * * * ?",
    overlapPolicy,
    ...extra,
  });
  clock.advance(1_000);
  const [first] = await fires.waitFires("j", 1);
  // tracked jobs: the per-fire write lands before the worker would start the run
  if (overlapPolicy !== "allow" || extra["lockTimeoutSeconds"]) {
    await waitFor(async () => (await readJob(nc, prefix, KEY))?.state.lastFireTime === iso(T0 + 1_000));
  }
  const run: RunInfo = {
    fireId: first!.msg.fireId,
    nominalTime: first!.msg.nominalTime,
    worker: "w1",
    node: "n1",
    startedAt: iso(T0 + 1_000),
    attempt: 1,
  };
  /** marks the first fire as running (or not), and waits until the scheduler's view has it */
  const setRunning = async (running: RunInfo[]) => {
    await writeState(nc, prefix, KEY, { running, status: running.length ? "running" : "queuing" });
    await api(nc, prefix, "list", {});
  };
  /** the next second: its fire is published, skipped or held, and recorded */
  const tick = async () => {
    clock.advance(1_000);
    await settled(service, fires);
  };
  return { prefix, clock, fires, service, first: first!, run, setRunning, tick };
}

describe("overlap policies", () => {
  it("skip: a fire due during a run is recorded as skipped; fires resume when the run ends", async () => {
    const { prefix, fires, first, run, setRunning, tick } = await setup("skip");
    expect(first.msg.trackRunning).toBe(true);
    await setRunning([run]);
    await tick();
    const [skipped] = await waitFor(async () => {
      const l = (await runLog(nc, prefix, "default", "j")).filter((e) => e.outcome === "skipped");
      return l.length > 0 ? l : undefined;
    });
    expect(skipped).toMatchObject({ nominalTime: iso(T0 + 2_000), reason: "overlap: a run is in progress" });
    expect(fires.of("j")).toHaveLength(1);
    await waitFor(async () => (await readJob(nc, prefix, KEY))?.state.skippedCount === 1);
    await setRunning([]);
    await tick();
    await fires.waitFires("j", 2);
    expect(fires.nominals("j")[1]).toBe(iso(T0 + 3_000));
  });

  it("with a lead, a job with an overlap policy is judged and published at its due time, not leadMs early", async () => {
    const { prefix, clock, fires } = await leaderWithFires(T0, { leadMs: 800, wakeEarlyMs: 100 }, "o");
    const perSecond = { type: "noop", jobType: "period", cron: "* * * * * ?" };
    await api(nc, prefix, "queue", { id: "j", name: "j", overlapPolicy: "skip", ...perSecond });
    await api(nc, prefix, "queue", { id: "k", name: "k", ...perSecond });
    clock.advance(300);
    // the allow job goes out early (it was due to go out at T0 + 200); the skip job waits for its due time
    const [k] = await fires.waitFires("k", 1);
    expect(k!.msg).toMatchObject({ nominalTime: iso(T0 + 1_000), firedAt: iso(T0 + 300) });
    // a run of j starts before j's due time: the skip policy sees it, as it would without a lead
    const other: RunInfo = {
      fireId: fireIdOf("default", "j", T0),
      nominalTime: iso(T0),
      worker: "w1",
      node: "n1",
      startedAt: iso(T0 + 300),
      attempt: 1,
    };
    await writeState(nc, prefix, KEY, { running: [other], status: "running" });
    await api(nc, prefix, "list", {});
    clock.advance(700);
    const [skipped] = await waitFor(async () => {
      const l = (await runLog(nc, prefix, "default", "j")).filter((e) => e.outcome === "skipped");
      return l.length > 0 ? l : undefined;
    });
    expect(skipped).toMatchObject({ nominalTime: iso(T0 + 1_000), reason: "overlap: a run is in progress" });
    await writeState(nc, prefix, KEY, { running: [], status: "queuing" });
    await api(nc, prefix, "list", {});
    clock.advance(1_000);
    const [j] = await fires.waitFires("j", 1);
    expect(j!.msg).toMatchObject({ nominalTime: iso(T0 + 2_000), firedAt: iso(T0 + 2_000) });
  });

  it("bufferOne: holds one fire while the run goes on, skips more, fires the held one when the run ends", async () => {
    const { prefix, fires, run, setRunning, tick } = await setup("bufferOne");
    await setRunning([run]);
    await tick();
    const held = await waitFor(async () => (await readJob(nc, prefix, KEY))?.state.buffered);
    expect(held).toBe(iso(T0 + 2_000));
    await api(nc, prefix, "list", {});
    await tick();
    const [skipped] = await waitFor(async () => {
      const l = (await runLog(nc, prefix, "default", "j")).filter((e) => e.outcome === "skipped");
      return l.length > 0 ? l : undefined;
    });
    expect(skipped).toMatchObject({ nominalTime: iso(T0 + 3_000) });
    expect(skipped!.reason).toContain("buffered");
    expect(fires.of("j")).toHaveLength(1);
    await setRunning([]);
    const [, released] = await fires.waitFires("j", 2);
    expect(released!.msg.nominalTime).toBe(iso(T0 + 2_000));
    const after = await waitFor(async () => {
      const j = await readJob(nc, prefix, KEY);
      return j && j.state.buffered === undefined ? j : undefined;
    });
    expect(after.state.triggerCount).toBe(2);
  });

  it("replace: interrupts the running fire on its node, then fires", async () => {
    const { prefix, fires, run, setRunning, tick } = await setup("replace");
    const interrupts: InterruptMessage[] = [];
    const sub = nc.subscribe(namespace(prefix).ctl("n1"), {
      callback: (_e, m) => void interrupts.push(decode(m.data) as InterruptMessage),
    });
    cleanups.push(() => sub.unsubscribe());
    await setRunning([run]);
    await tick();
    await fires.waitFires("j", 2);
    expect(interrupts).toEqual([
      { jobId: "j", tenantId: "default", fireId: fireIdOf("default", "j", T0 + 1_000), reason: "replaced" },
    ]);
    expect(fires.nominals("j")[1]).toBe(iso(T0 + 2_000));
  });

  it("allow: fires regardless and does not ask workers to track runs; a lock timeout does", async () => {
    const { fires, run, setRunning, tick } = await setup("allow");
    expect(fires.of("j")[0]!.msg.trackRunning).toBe(false);
    await setRunning([run]);
    await tick();
    await fires.waitFires("j", 2);
    const locked = await setup("allow", { lockTimeoutSeconds: 30 });
    expect(locked.first.msg).toMatchObject({ trackRunning: true, lockTimeoutSeconds: 30 });
  });
});
