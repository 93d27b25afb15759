/**
 * Early fires: the scheduler publishes fires up to its leadMs before their nominal time; the worker prepares
 * each at once and starts its handler at the nominal time. A pause meanwhile skips it; a stop hands it back.
 */
import { describe, expect, it } from "vitest";
import { encode } from "@taskjet/protocol";
import { waitFor } from "@taskjet/testing";
import { env, useTestEnv } from "./helpers.js";

useTestEnv();

const runStreamEmpty = () =>
  waitFor(async () => (await env.topo.jsm.streams.info(env.ns.streams.run)).state.messages === 0, {
    message: "run stream drained",
  });

describe("early fires", () => {
  it("are held and started at their nominal time, not on arrival", async () => {
    const w = env.worker({ node: "e1" });
    const starts: { at: number; nominal: string }[] = [];
    w.register("timed", async (ctx) => {
      starts.push({ at: Date.now(), nominal: ctx.nominalTime });
    });
    await w.start();
    const def = await env.job({ type: "timed", jobType: "persistent", intervalSeconds: 1 });
    const nominal = new Date(Date.now() + 1_200);
    const held = w.events.next("run:held", (e) => e.fire.jobId === def.id);
    await env.fire(def, { nominalTime: nominal, last: false });
    const h = await held;
    expect(h.until).toBe(nominal.toISOString());
    expect(starts).toEqual([]); // held, not started
    await waitFor(() => starts.length === 1, { message: "the held fire ran" });
    // setTimeout never fires early; allow 1 ms for the millisecond rounding of Date.now()
    expect(starts[0]!.at).toBeGreaterThanOrEqual(nominal.getTime() - 1);
    expect(starts[0]!.nominal).toBe(nominal.toISOString());
    await env.waitRecord(def, (j) => j.state.lastRunTime !== undefined, "outcome written");
    await runStreamEmpty();
  });

  it("a held fire whose job is paused meanwhile is skipped: acked, logged, never run", async () => {
    const w = env.worker({ node: "e2" });
    let ran = 0;
    w.register("pausedEarly", async () => ran++);
    await w.start();
    const def = await env.job({ type: "pausedEarly" });
    const held = w.events.next("run:held", (e) => e.fire.jobId === def.id);
    await env.fire(def, { nominalTime: new Date(Date.now() + 3_000) });
    await held;
    const skipped = w.events.next("run:skipped", (e) => e.fire.jobId === def.id);
    env.nc.publish(
      env.ns.ctl("e2"),
      encode({ jobId: def.id, tenantId: def.tenantId, fireId: "*", reason: "paused" }),
    );
    expect(await skipped).toMatchObject({ reason: "paused" });
    expect(ran).toBe(0);
    await runStreamEmpty();
    await waitFor(async () => (await env.runLog(def)).length === 1, { message: "skip logged" });
    expect(await env.runLog(def)).toEqual([
      expect.objectContaining({ outcome: "skipped", reason: "paused" }),
    ]);
  });

  it("a released early fire still waiting for a slot is skipped when its job is paused", async () => {
    const w = env.worker({ node: "e5", concurrency: 1 });
    let release!: () => void;
    const blocker = new Promise<void>((r) => (release = r));
    let ranB = 0;
    w.register("blocking", () => blocker);
    w.register("waiting", async () => ranB++);
    await w.start();
    const a = await env.job({ type: "blocking" });
    const b = await env.job({ type: "waiting" });
    const started = w.events.next("run:start", (e) => e.fire.jobId === a.id);
    await env.fire(a);
    await started; // the only slot is taken
    const nominal = Date.now() + 600;
    const held = w.events.next("run:held", (e) => e.fire.jobId === b.id);
    await env.fire(b, { nominalTime: new Date(nominal) });
    await held;
    // its instant passes while the slot is still taken: released into the buffer, prepared
    await waitFor(() => Date.now() > nominal + 50, { message: "b's nominal time passed" });
    const skipped = w.events.next("run:skipped", (e) => e.fire.jobId === b.id);
    env.nc.publish(
      env.ns.ctl("e5"),
      encode({ jobId: b.id, tenantId: b.tenantId, fireId: "*", reason: "paused" }),
    );
    expect(await skipped).toMatchObject({ reason: "paused" });
    release();
    await env.waitRecord(a, (j) => j.state.status === "completed", "a completed");
    expect(ranB).toBe(0);
    await runStreamEmpty();
  });

  it("stop hands a held fire back; another worker holds it again and runs it at its nominal time", async () => {
    const first = env.worker({ node: "e3" });
    first.register("handedBack", async () => "first");
    await first.start();
    const def = await env.job({ type: "handedBack" });
    const nominal = new Date(Date.now() + 2_500);
    const held = first.events.next("run:held", (e) => e.fire.jobId === def.id);
    await env.fire(def, { nominalTime: nominal });
    await held;
    await first.stop();
    const second = env.worker({ node: "e3" });
    let startedAt = 0;
    second.register("handedBack", async () => {
      startedAt = Date.now();
      return "second";
    });
    await second.start();
    const job = await env.waitRecord(def, (j) => j.state.status === "completed", "completed", 15_000);
    expect(job.state.result).toBe("second");
    expect(startedAt).toBeGreaterThanOrEqual(nominal.getTime() - 1);
  });

  it("a burst due at one instant starts every handler before any run of it finishes", async () => {
    // two slots for twelve fires: without holding the finishes back, the first successes would come
    // between the starts and push the burst's last start behind them
    const w = env.worker({ node: "e6", concurrency: 2 });
    const order: string[] = [];
    w.register("burst", async (ctx) => {
      order.push(`start ${ctx.job.id}`);
    });
    w.events.on("run:success", (e) => order.push(`done ${e.fire.jobId}`));
    await w.start();
    const defs = await Promise.all(Array.from({ length: 12 }, () => env.job({ type: "burst" })));
    const nominal = new Date(Date.now() + 1_500);
    let held = 0;
    w.events.on("run:held", () => held++);
    for (const def of defs) await env.fire(def, { nominalTime: nominal });
    await waitFor(() => held === 12, { message: "all twelve held" });
    await waitFor(() => order.length === 24, { message: "all twelve ran and finished" });
    const firstDone = order.findIndex((o) => o.startsWith("done"));
    expect(firstDone).toBe(12);
    for (const def of defs) {
      await env.waitRecord(def, (j) => j.state.status === "completed", "outcome written");
    }
    await runStreamEmpty();
  });

  it("holdEarlyFires: false runs an early fire on arrival", async () => {
    const w = env.worker({ node: "e4", holdEarlyFires: false });
    let startedAt = 0;
    w.register("eager", async () => {
      startedAt = Date.now();
    });
    await w.start();
    const def = await env.job({ type: "eager" });
    const nominal = Date.now() + 60_000;
    await env.fire(def, { nominalTime: new Date(nominal) });
    await env.waitRecord(def, (j) => j.state.status === "completed", "completed");
    expect(startedAt).toBeLessThan(nominal);
  });
});
