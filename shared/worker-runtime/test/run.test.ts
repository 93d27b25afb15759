import { describe, expect, it } from "vitest";
import type { Msg } from "@nats-io/nats-core";
import { z } from "zod";
import { JobEventDataSchema, type JobEventData } from "@taskjet/protocol";
import { Registry } from "@taskjet/nats";
import { waitFor } from "@taskjet/testing";
import { createWorker, type HandlerContext } from "@taskjet/worker-runtime";
import { env, quietLogger, server, useTestEnv } from "./helpers.js";

useTestEnv();

describe("a run", () => {
  it("succeeds: state completed with result and counters, run log started + succeeded", async () => {
    const seen: HandlerContext[] = [];
    const w = env.worker({ node: "n1" });
    w.register("echo", async (ctx) => {
      seen.push(ctx);
      ctx.logger.debug("hello");
      return { echoed: ctx.args["x"] };
    });
    await w.start();
    const def = await env.job({ type: "echo", args: { x: 42 } });
    const fire = await env.fire(def);
    const job = await env.waitRecord(def, (j) => j.state.status === "completed", "job completed");
    // a once job's fire is counted by the worker's end-of-run write (see schedulerCountsFires)
    expect(job.state).toMatchObject({
      tryCount: 0,
      triggerCount: 1,
      lastFireTime: fire.nominalTime,
      result: { echoed: 42 },
      isAbandoned: false,
    });
    expect(job.state.lastRunTime).toBeDefined();
    expect(seen[0]).toMatchObject({
      fireId: fire.fireId,
      nominalTime: fire.nominalTime,
      attempt: 1,
      delivery: 1,
    });
    expect(seen[0]!.job).toMatchObject({ id: def.id, type: "echo", tenantId: "default", group: "default" });
    expect((await seen[0]!.job.read())?.state.status).toBe("completed");
    const log = await waitFor(
      async () => {
        const l = await env.runLog(def);
        return l.length >= 2 ? l : undefined;
      },
      { message: "run log has two entries" },
    );
    expect(log.map((e) => e.outcome)).toEqual(["started", "succeeded"]);
    expect(log[1]).toMatchObject({
      fireId: fire.fireId,
      attempt: 1,
      delivery: 1,
      result: { echoed: 42 },
      node: "n1",
    });
    expect(log[1]!.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("publishes before/after events in the CloudEvents NATS binding, readable by a plain subscriber", async () => {
    const w = env.worker({ node: "n2" });
    w.register("evt", async () => "done");
    await w.start();
    const def = await env.job({ type: "evt", group: "g1", maxCount: 5 });
    // the scheduler counts fires as it dispatches them: pretend it did three
    await env.store.mutate(env.ns.jobKey(def), (j) => ({
      def: j.def,
      state: { ...j.state, triggerCount: 3 },
    }));
    const got: Msg[] = [];
    const sub = env.nc.subscribe(env.ns.eventFilter({ jobId: def.id }), {
      callback: (_e, m) => void got.push(m),
    });
    await env.nc.flush();
    const fire = await env.fire(def);
    await waitFor(() => got.length >= 2, { message: "two events" });
    sub.unsubscribe();
    expect(got.map((m) => m.subject)).toEqual([env.ns.event(def, "before"), env.ns.event(def, "after")]);
    const [before, after] = got as [Msg, Msg];
    const ids = new Set<string>();
    for (const [m, phase] of [
      [before, "before"],
      [after, "after"],
    ] as const) {
      const h = m.headers!;
      expect(h.get("ce-specversion")).toBe("1.0");
      expect(h.get("ce-type")).toBe(`io.taskjet.job.${phase}`);
      expect(h.get("ce-source")).toBe(`taskjet/worker/${w.workerId}`);
      expect(h.get("ce-subject")).toBe(def.id);
      expect(Number.isNaN(Date.parse(h.get("ce-time")))).toBe(false);
      expect(h.get("Content-Type")).toBe("application/json");
      ids.add(h.get("ce-id"));
    }
    expect(ids.size).toBe(2);
    const b = JobEventDataSchema.parse(before.json()) as JobEventData;
    const a = JobEventDataSchema.parse(after.json()) as JobEventData;
    expect(b).toMatchObject({
      phase: "before",
      status: "running",
      fireId: fire.fireId,
      group: "g1",
      triggered: 3,
      repeatCount: 5,
    });
    expect(a).toMatchObject({
      phase: "after",
      status: "completed",
      result: "done",
      triggered: 3,
      repeatCount: 5,
    });
    expect(a.durationMs).toBeGreaterThanOrEqual(0);
    expect(a.runTime).toBeDefined();
  });

  it("runs in-process hooks and reports progress as an event", async () => {
    const w = env.worker({ node: "n3" });
    const order: string[] = [];
    w.onBefore((e) => void order.push(`before:${e.status}`));
    w.onAfter((e) => void order.push(`after:${e.status}`));
    w.onBefore(() => {
      throw new Error("a broken hook is ignored");
    });
    w.register("prog", async (ctx) => {
      order.push("handler");
      ctx.progress(50);
      ctx.progress({ step: "two" });
      return 1;
    });
    await w.start();
    const def = await env.job({ type: "prog" });
    const progress: unknown[] = [];
    const sub = env.nc.subscribe(env.ns.eventFilter({ jobId: def.id }).replace(/\*$/, "progress"), {
      callback: (_e, m) => void progress.push((m.json() as { progress: unknown }).progress),
    });
    await env.nc.flush();
    const done = w.events.next("run:success", (e) => e.fire.jobId === def.id);
    await env.fire(def);
    await done;
    await waitFor(() => order.length === 3 && progress.length === 2, { message: "hooks and progress" });
    sub.unsubscribe();
    expect(order).toEqual(["before:running", "handler", "after:completed"]);
    expect(progress).toEqual([50, { step: "two" }]);
  });

  it("a listener that throws is logged; the listeners after it still run and the run completes", async () => {
    const w = env.worker({ node: "n6" });
    w.register("fine", async () => "ok");
    const after: string[] = [];
    w.events.on("run:start", () => {
      throw new Error("a broken listener");
    });
    w.events.on("run:start", (e) => after.push(e.fire.jobId));
    await w.start();
    const def = await env.job({ type: "fine" });
    await env.fire(def);
    const job = await env.waitRecord(def, (j) => j.state.status === "completed", "run stored");
    expect(job.state.result).toBe("ok");
    expect(after).toEqual([def.id]);
  });

  it("stores a result msgpack cannot hold (bigints past 64 bits) in a readable form and completes", async () => {
    const w = env.worker({ node: "n5" });
    w.register("big", async (ctx) => (ctx.args["nested"] ? { n: 2n ** 70n, label: "x" } : 2n ** 70n));
    await w.start();
    const bare = await env.job({ type: "big" });
    await env.fire(bare);
    const nested = await env.job({ type: "big", args: { nested: true } });
    await env.fire(nested);
    const done = (j: { state: { status: string } }) => j.state.status === "completed";
    expect((await env.waitRecord(bare, done, "bare bigint run stored")).state.result).toBe(
      "1180591620717411303424",
    );
    expect((await env.waitRecord(nested, done, "nested bigint run stored")).state.result).toEqual({
      n: "1180591620717411303424",
      label: "x",
    });
  });

  it("a recurring job goes back to queuing with nextRunTime from the fire, and completes on the last fire", async () => {
    const w = env.worker({ node: "n4" });
    w.register("tick", async (ctx) => ctx.nominalTime);
    await w.start();
    const def = await env.job({ type: "tick", jobType: "persistent", intervalSeconds: 60 });
    const next = new Date(Date.now() + 60_000);
    await env.fire(def, { nextNominalTime: next, last: false });
    let job = await env.waitRecord(def, (j) => j.state.lastRunTime !== undefined, "first run stored");
    expect(job.state.status).toBe("queuing");
    expect(job.state.nextRunTime).toBe(next.toISOString());
    await env.fire(def, { nominalTime: next, last: true });
    job = await env.waitRecord(def, (j) => j.state.status === "completed", "second run stored");
    expect(job.state.result).toBe(next.toISOString());
  });

  it("counts each scheduled fire of an unlimited recurring job once, and never a trigger", async () => {
    const w = env.worker({ node: "n4b" });
    w.register("tick", async () => "ok");
    await w.start();
    const def = await env.job({ type: "tick", jobType: "period", cron: "* * * * * ?" });
    const first = new Date(Math.floor(Date.now() / 1000) * 1000);
    await env.fire(def, { nominalTime: first, last: false });
    let job = await env.waitRecord(def, (j) => j.state.triggerCount === 1, "first fire counted");
    expect(job.state.lastFireTime).toBe(first.toISOString());
    // the same fire again (a redelivery) is not counted twice; an older one neither
    await env.fire(def, { nominalTime: first, last: false, attempt: 2 });
    await env.fire(def, { nominalTime: new Date(first.getTime() - 1000), last: false });
    await env.fire(def, { nominalTime: new Date(first.getTime() + 500), last: false, reason: "trigger" });
    const second = new Date(first.getTime() + 1000);
    await env.fire(def, { nominalTime: second, last: false });
    job = await env.waitRecord(
      def,
      (j) => j.state.lastFireTime === second.toISOString(),
      "second fire counted",
    );
    expect(job.state.triggerCount).toBe(2);
  });

  it("parses args with the registered schema and publishes types and the worker to the registry", async () => {
    const w = env.worker({ node: "n5" });
    const Args = z.object({ n: z.coerce.number().int(), label: z.string().default("x") });
    w.register("typed", async (ctx) => ({ double: ctx.args.n * 2, label: ctx.args.label }), {
      argsSchema: Args,
      description: "doubles n",
    });
    await w.start();
    const def = await env.job({ type: "typed", args: { n: "21" } });
    await env.fire(def);
    const job = await env.waitRecord(def, (j) => j.state.status === "completed", "typed job completed");
    expect(job.state.result).toEqual({ double: 42, label: "x" });
    const registry = new Registry(env.topo.registry);
    const worker = await waitFor(
      async () => (await registry.workers()).find((x) => x.workerId === w.workerId),
      {
        message: "worker heartbeat",
      },
    );
    expect(worker).toMatchObject({ node: "n5", pid: process.pid, concurrency: 10, types: ["typed"] });
    const type = await waitFor(async () => (await registry.types()).find((t) => t.type === "typed"), {
      message: "type registered",
    });
    expect(type).toMatchObject({ description: "doubles n", nodes: ["n5"] });
    expect(type.argsSchema).toMatchObject({
      type: "object",
      properties: { n: {}, label: { type: "string" } },
    });
    await w.stop();
    expect((await registry.workers()).find((x) => x.workerId === w.workerId)).toBeUndefined();
  });

  it("start() and stop() are idempotent and share the in-flight promise", async () => {
    const w = createWorker({
      nats: { servers: [server.url], prefix: env.ns.prefix },
      node: "n6",
      logger: quietLogger,
    });
    const a = w.start();
    const b = w.start();
    expect(a).toBe(b);
    await a;
    const s1 = w.stop();
    expect(w.stop()).toBe(s1);
    await s1;
    await expect(w.start()).rejects.toThrow(/create a new one/);
  });

  it("rejects bad options naming the field", () => {
    expect(() => createWorker({ node: "_any" })).toThrow(/node/);
    expect(() => createWorker({ concurrency: 0 })).toThrow(/concurrency/);
    expect(() => createWorker({ ackWaitMs: 2000, workingIntervalMs: 5000 })).toThrow(/workingIntervalMs/);
  });
});
