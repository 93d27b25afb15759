import { describe, expect, it } from "vitest";
import { encode, type JobDefinition } from "@taskjet/protocol";
import { LockProvider } from "@taskjet/nats";
import { waitFor } from "@taskjet/testing";
import { RunAbortedError, type HandlerContext } from "@taskjet/worker-runtime";
import { env, useTestEnv } from "./helpers.js";

useTestEnv();

/** Resolves when the signal fires; the handler then throws its reason, as a well-behaved handler does. */
function untilAborted(ctx: HandlerContext): Promise<never> {
  return new Promise((_, reject) => {
    if (ctx.signal.aborted) reject(ctx.signal.reason as Error);
    ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason as Error));
  });
}

function interrupt(node: string, body: { jobId: string; tenantId: string; fireId?: string; reason: string }) {
  env.nc.publish(env.ns.ctl(node), encode(body));
}

describe("locks", () => {
  it("at most one run of a locked job at a time across two workers; state.running tracks it", async () => {
    const a = env.worker({ node: "la", lockRetryMs: 100 });
    const b = env.worker({ node: "la", lockRetryMs: 100 });
    let inFlight = 0;
    let maxInFlight = 0;
    let locked = 0;
    let succeeded = 0;
    const runningSeen: number[] = [];
    for (const w of [a, b]) {
      w.register("locked", async (ctx) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        runningSeen.push((await ctx.job.read())!.state.running.length);
        // hold the lock until a run has found it taken: the runs do contend, whatever the machine's speed
        await waitFor(() => locked > 0, { message: "no run found the lock taken", timeoutMs: 15_000 });
        inFlight--;
        return w.workerId;
      });
    }
    await Promise.all([a.start(), b.start()]);
    const def = await env.job({
      type: "locked",
      jobType: "persistent",
      intervalSeconds: 60,
      lockTimeoutSeconds: 30,
      nodeName: "la",
    });
    for (const w of [a, b]) {
      w.events.on("run:locked", () => locked++);
      w.events.on("run:success", () => succeeded++);
    }
    const t = Date.now();
    // four due fires at once (distinct past nominal times: a future one would be held until its time)
    for (let i = 0; i < 4; i++) await env.fire(def, { nominalTime: new Date(t - i * 1000), last: false });
    await waitFor(() => succeeded === 4, { message: "four runs", timeoutMs: 15_000 });
    const job = (await env.record(def))!;
    expect(maxInFlight).toBe(1);
    expect(locked).toBeGreaterThan(0);
    expect(runningSeen).toEqual([1, 1, 1, 1]);
    expect(job.state.running).toEqual([]);
    // released after the last run
    expect(await new LockProvider(env.topo.locks).holder(`${def.tenantId}.${def.id}`)).toBeUndefined();
  });

  it("a lock left by a crashed worker expires after lockTimeoutSeconds", async () => {
    const def = await env.job({ type: "afterCrash", lockTimeoutSeconds: 1 });
    await new LockProvider(env.topo.locks).acquire(
      `${def.tenantId}.${def.id}`,
      "dead-worker",
      "old-fire",
      1000,
    );
    const w = env.worker({ node: "lb", lockRetryMs: 200 });
    w.register("afterCrash", async () => "ran");
    await w.start();
    const locked = w.events.next("run:locked", (e) => e.fire.jobId === def.id);
    await env.fire(def);
    expect(await locked).toMatchObject({ holder: "dead-worker" });
    await env.waitRecord(def, (j) => j.state.status === "completed", "runs once the stale lock expired");
  });
});

describe("skipped fires", () => {
  it("a removed, paused or stopped job's fire is not run: acked and logged as skipped", async () => {
    const w = env.worker({ node: "sk" });
    let ran = 0;
    w.register("skippy", async () => ran++);
    await w.start();
    const cases: [JobDefinition, string][] = [];
    for (const reason of ["paused", "stopped", "removed"]) {
      const def = await env.job({ type: "skippy" });
      const key = env.ns.jobKey(def);
      if (reason === "removed") await env.store.remove(key);
      else
        await env.store.mutate(key, (j) => ({
          def: j.def,
          state: { ...j.state, status: reason as "paused" },
        }));
      cases.push([def, reason]);
    }
    const skipped: string[] = [];
    w.events.on("run:skipped", (e) => skipped.push(`${e.fire.jobId}:${e.reason}`));
    for (const [def] of cases) await env.fire(def);
    await waitFor(() => skipped.length === 3, { message: "three skips" });
    expect(ran).toBe(0);
    expect(skipped.sort()).toEqual(cases.map(([d, r]) => `${d.id}:${r}`).sort());
    for (const [def, reason] of cases) {
      const log = await env.runLog(def);
      expect(log).toEqual([expect.objectContaining({ outcome: "skipped", reason })]);
    }
    // acked: nothing left on the stream
    await waitFor(async () => (await env.topo.jsm.streams.info(env.ns.streams.run)).state.messages === 0, {
      message: "run stream drained",
    });
  });
});

describe("interrupts and timeouts", () => {
  it("pause on <p>.ctl.<node> aborts the run's signal; the fire is acked, logged aborted, not redelivered", async () => {
    const w = env.worker({ node: "ia" });
    let runs = 0;
    w.register("pausable", async (ctx) => {
      runs++;
      return untilAborted(ctx);
    });
    await w.start();
    const def = await env.job({ type: "pausable", overlapPolicy: "skip" });
    const started = w.events.next("run:start", (e) => e.fire.jobId === def.id);
    await env.fire(def);
    await started;
    const during = (await env.record(def))!.state;
    expect(during.running).toMatchObject([{ worker: w.workerId, node: "ia", attempt: 1 }]);
    expect(during.status).toBe("running");
    const aborted = w.events.next("run:aborted", (e) => e.fire.jobId === def.id);
    // the scheduler's form: fireId "*" = any run of the job
    interrupt("ia", { jobId: def.id, tenantId: def.tenantId, fireId: "*", reason: "paused" });
    expect(await aborted).toMatchObject({ reason: "paused", handedBack: false });
    const job = await env.waitRecord(def, (j) => j.state.running.length === 0, "running entry cleared");
    expect(job.state).toMatchObject({ triggerCount: 0, status: "queuing" });
    await waitFor(async () => (await env.runLog(def)).length === 2, { message: "two log entries" });
    expect((await env.runLog(def)).map((e) => [e.outcome, e.reason])).toEqual([
      ["started", undefined],
      ["aborted", "paused"],
    ]);
    expect(runs).toBe(1);
    expect((await env.topo.jsm.streams.info(env.ns.streams.run)).state.messages).toBe(0);
  });

  it("remove on <p>.ctl._all aborts even a handler that ignores its signal; the reason is a RunAbortedError", async () => {
    const w = env.worker({ node: "ib" });
    let reason: unknown;
    w.register("stubborn", async (ctx) => {
      ctx.signal.addEventListener("abort", () => (reason = ctx.signal.reason));
      await new Promise(() => undefined); // never settles
    });
    await w.start();
    const def = await env.job({ type: "stubborn" });
    const started = w.events.next("run:start", (e) => e.fire.jobId === def.id);
    await env.fire(def);
    await started;
    const aborted = w.events.next("run:aborted", (e) => e.fire.jobId === def.id);
    interrupt("_all", { jobId: def.id, tenantId: def.tenantId, reason: "removed" });
    expect(await aborted).toMatchObject({ reason: "removed" });
    expect(reason).toBeInstanceOf(RunAbortedError);
    expect((reason as RunAbortedError).reason).toBe("removed");
    await waitFor(() => w.running === 0, { message: "slot freed" });
  });

  it("an interrupt with a fireId aborts only that fire (overlap replace)", async () => {
    const w = env.worker({ node: "ic" });
    w.register("overlap", async (ctx) => untilAborted(ctx));
    await w.start();
    const def = await env.job({ type: "overlap", jobType: "persistent", intervalSeconds: 60 });
    const t = Date.now();
    const starts = waitFor(() => w.running === 2, { message: "two runs" });
    const f1 = await env.fire(def, { nominalTime: new Date(t), last: false });
    const f2 = await env.fire(def, { nominalTime: new Date(t + 1000), last: false });
    await starts;
    const aborted = w.events.next("run:aborted", () => true);
    interrupt("ic", { jobId: def.id, tenantId: def.tenantId, fireId: f1.fireId, reason: "replaced" });
    expect((await aborted).fire.fireId).toBe(f1.fireId);
    await waitFor(() => w.running === 1, { message: "only the replaced run ended" });
    const second = w.events.next("run:aborted", () => true);
    interrupt("ic", { jobId: def.id, tenantId: def.tenantId, fireId: f2.fireId, reason: "replaced" });
    expect((await second).fire.fireId).toBe(f2.fireId);
  });

  it("timeoutSeconds aborts the run and fails it (retried with backoff), logged timedOut", async () => {
    const w = env.worker({ node: "id" });
    w.register("slowpoke", async (ctx) => untilAborted(ctx));
    await w.start();
    const def = await env.job({ type: "slowpoke", timeoutSeconds: 1 });
    const failure = w.events.next("run:failure", (e) => e.fire.jobId === def.id);
    await env.fire(def);
    expect(await failure).toMatchObject({ timedOut: true, willRetry: true, error: "timed out after 1 s" });
    const job = await env.waitRecord(def, (j) => j.state.status === "failedRetry", "failedRetry");
    expect(job.state.tryCount).toBe(1);
    await waitFor(async () => (await env.runLog(def)).some((e) => e.outcome === "timedOut"), {
      message: "timedOut logged",
    });
  });
});
