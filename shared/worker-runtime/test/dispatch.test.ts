import { describe, expect, it } from "vitest";
import { priorities, priorityLevel, type JobDefinition } from "@taskjet/protocol";
import { waitFor } from "@taskjet/testing";
import { consumerNames } from "@taskjet/worker-runtime";
import { env, useTestEnv } from "./helpers.js";

useTestEnv();

describe("dispatch", () => {
  it("with a backlog, higher priorities start first (node and any-node subjects)", async () => {
    // a mixed backlog, queued before any worker runs: lowest priorities first, so FIFO would be wrong
    const defs: JobDefinition[] = [];
    for (let round = 0; round < 3; round++) {
      for (const priority of priorities) {
        const def = await env.job({ type: "prio", priority, ...(round === 1 ? { nodeName: "pa" } : {}) });
        defs.push(def);
        await env.fire(def);
      }
    }
    const w = env.worker({ node: "pa", concurrency: 1 });
    const order: number[] = [];
    w.register("prio", async (ctx) => {
      order.push(priorityLevel(ctx.job.priority));
    });
    await w.start();
    await waitFor(() => order.length === defs.length, { message: "all 15 ran", timeoutMs: 15_000 });
    expect(order).toEqual([...order].sort((a, b) => b - a));
    expect(order.slice(0, 3)).toEqual([5, 5, 5]);
  });

  it("a busy worker pulls only from consumers that may have fires; a higher priority arriving meanwhile still starts next", async () => {
    // every pull request the worker sends, by consumer and kind (no_wait drain or long poll)
    const drains = new Map<string, number>();
    const polls = new Map<string, number>();
    const tap = env.nc.subscribe(`$JS.API.CONSUMER.MSG.NEXT.${env.ns.streams.run}.*`, {
      callback: (_e, m) => {
        const consumer = m.subject.split(".").pop()!;
        const body = JSON.parse(new TextDecoder().decode(m.data)) as { no_wait?: boolean };
        const counts = body.no_wait ? drains : polls;
        counts.set(consumer, (counts.get(consumer) ?? 0) + 1);
      },
    });
    const backlog: JobDefinition[] = [];
    for (let i = 0; i < 200; i++) backlog.push(await env.job({ type: "busy", priority: "low" }));
    await Promise.all(backlog.map((def) => env.fire(def)));
    const w = env.worker({ node: "pw", concurrency: 2, prefetch: 10 });
    const order: string[] = [];
    w.register("busy", async (ctx) => {
      order.push(ctx.job.id);
      await new Promise((r) => setTimeout(r, 2));
    });
    await w.start();
    await waitFor(() => order.length >= 50, { message: "50 of the backlog ran", timeoutMs: 15_000 });
    const urgent = await env.job({ type: "busy", priority: "high" });
    await env.fire(urgent);
    await waitFor(() => order.length === backlog.length + 1, { message: "all ran", timeoutMs: 30_000 });
    tap.unsubscribe();
    // the urgent fire came by the long poll that watched its consumer, and ran before the backlog drained
    expect(order.indexOf(urgent.id)).toBeLessThan(order.length - 50);
    const low = `${env.ns.prefix}-any-busy-p1`;
    expect(drains.get(low)).toBeGreaterThan(10);
    // the other nine consumers had nothing: each was drained once, then watched (drained again only when
    // its long poll delivered or expired, every idlePollMs), not asked at every round as the busy one was
    for (const c of consumerNames(env.ns, "pw", ["busy"])) {
      if (c.name === low) continue;
      expect(drains.get(c.name) ?? 0, c.name).toBeLessThan(drains.get(low)! / 3);
    }
  });

  it("creates one durable consumer per type and priority for the node and for any node", async () => {
    const w = env.worker({ node: "pb" });
    w.register("x", async () => 1);
    w.register("y", async () => 1);
    await w.start();
    const names = (await env.topo.jsm.consumers.list(env.ns.streams.run).next()).map((c) => c.name);
    const mine = consumerNames(env.ns, "pb", ["x", "y"]);
    expect(mine).toHaveLength(20);
    for (const c of mine) expect(names).toContain(c.name);
    const info = await env.topo.jsm.consumers.info(env.ns.streams.run, `${env.ns.prefix}-node2-pb-x-p5`);
    expect(info.config).toMatchObject({
      filter_subject: `${env.ns.prefix}.run.*.pb.x.p5.*`,
      ack_policy: "explicit",
      ack_wait: 5e9,
    });
    expect(mine.slice(0, 4).map((c) => [c.name, c.priority])).toEqual([
      [`${env.ns.prefix}-node2-pb-x-p5`, 5],
      [`${env.ns.prefix}-node2-pb-y-p5`, 5],
      [`${env.ns.prefix}-any-x-p5`, 5],
      [`${env.ns.prefix}-any-y-p5`, 5],
    ]);
  });

  it("workers with disjoint handler sets on the any-node subject each get only their own types: nothing handed back; a type without a worker waits, and runs once one registers it", async () => {
    const a = env.worker({ node: "da" });
    const b = env.worker({ node: "db" });
    const ran: Record<string, string[]> = {};
    a.register("ta", async (ctx) => void (ran[ctx.job.type] ??= []).push("da"));
    b.register("tb", async (ctx) => void (ran[ctx.job.type] ??= []).push("db"));
    const redelivered: string[] = [];
    for (const w of [a, b])
      w.events.on("run:start", (e) => e.delivery > 1 && redelivered.push(e.fire.fireId));
    await a.start();
    await b.start();
    const orphan = await env.job({ type: "tc" });
    await env.fire(orphan);
    for (let i = 0; i < 10; i++) {
      for (const type of ["ta", "tb"]) await env.fire(await env.job({ type }));
    }
    await waitFor(() => ran["ta"]?.length === 10 && ran["tb"]?.length === 10, { message: "20 runs" });
    expect(new Set(ran["ta"])).toEqual(new Set(["da"]));
    expect(new Set(ran["tb"])).toEqual(new Set(["db"]));
    expect(redelivered, "nothing handed back and delivered again").toEqual([]);
    // the tc fire waits on its own subject: the backlog of that type
    const subjects = (await env.topo.jsm.streams.info(env.ns.streams.run, { subjects_filter: ">" })).state
      .subjects;
    expect(subjects).toEqual({ [env.ns.fire(orphan.tenantId, undefined, "tc", 3)]: 1 });
    expect((await env.record(orphan))!.state.status).toBe("queuing");
    // a handler registered after start gets its consumers and the waiting fire
    b.register("tc", async (ctx) => void (ran[ctx.job.type] ??= []).push("db"));
    await env.waitRecord(orphan, (j) => j.state.status === "completed", "tc ran once registered");
    expect(ran["tc"]).toEqual(["db"]);
    expect(redelivered).toEqual([]);
  });

  it("a job addressed to node A never runs on a worker of node B", async () => {
    const a = env.worker({ node: "na" });
    const b = env.worker({ node: "nb" });
    const ranOn: Record<string, string[]> = {};
    for (const w of [a, b]) {
      w.register("addr", async (ctx) => {
        (ranOn[ctx.job.nodeName ?? "_any"] ??= []).push(w.node);
      });
    }
    await b.start();
    const forA: JobDefinition[] = [];
    for (let i = 0; i < 5; i++) {
      const def = await env.job({ type: "addr", nodeName: "na" });
      forA.push(def);
      await env.fire(def);
    }
    const anyDefs: JobDefinition[] = [];
    for (let i = 0; i < 4; i++) {
      const def = await env.job({ type: "addr" });
      anyDefs.push(def);
      await env.fire(def);
    }
    // only B runs: the any-node jobs complete, the node-A jobs wait
    await waitFor(() => ranOn["_any"]?.length === 4, { message: "any-node jobs ran on B" });
    expect(ranOn["na"]).toBeUndefined();
    for (const def of forA) expect((await env.record(def))!.state.status).toBe("queuing");
    await a.start();
    await waitFor(() => ranOn["na"]?.length === 5, { message: "node-A jobs ran on A" });
    expect(new Set(ranOn["na"])).toEqual(new Set(["na"]));
  });

  it("keeps in-progress acks going: a run longer than ackWait is not redelivered", async () => {
    const w = env.worker({ node: "pc", ackWaitMs: 1000 });
    let runs = 0;
    w.register("long", async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 2500));
      return "slow";
    });
    await w.start();
    const def = await env.job({ type: "long" });
    await env.fire(def);
    await env.waitRecord(def, (j) => j.state.status === "completed", "long run completed");
    // the server's count, not only the handler's: once the ack has landed, the message was delivered once
    const consumer = env.ns.runConsumer(undefined, "long", 3).name;
    const info = await waitFor(
      async () => {
        const i = await env.topo.jsm.consumers.info(env.ns.streams.run, consumer);
        return i.num_pending === 0 && i.num_ack_pending === 0 ? i : undefined;
      },
      { message: "the long run's message acked" },
    );
    expect(info.delivered.consumer_seq).toBe(1);
    expect(runs).toBe(1);
  });
});
