/**
 * The fast lane on the worker's side (protocol fastJob.ts): a job input published straight to its run
 * subject runs with no stored record before the run, and its outcome is one create (or nothing, retention
 * `true`); a failure with tries left is stored failedRetry for the scheduler to retry; a malformed one is
 * dead-lettered with the reason and a deadletter event; a redelivered finished one does not run again.
 */
import { describe, expect, it } from "vitest";
import type { Msg } from "@nats-io/nats-core";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { AckPolicy } from "@nats-io/jetstream";
import {
  encode,
  fastJobMsgId,
  initialState,
  parseJobInput,
  runKeyOf,
  type JobDefinition,
  type JobEventData,
} from "@taskjet/protocol";
import { uniqueName, waitFor } from "@taskjet/testing";
import { env, useTestEnv } from "./helpers.js";

useTestEnv();

const te = new TextEncoder();

/** Publishes a job input on its fast-lane subject as any NATS client would (JSON), PubAck awaited. */
async function publishFast(
  job: Record<string, unknown> & { id: string; type: string },
  o: { node?: string; priority?: number; tenant?: string; json?: boolean } = {},
) {
  const h = natsHeaders();
  h.set("Content-Type", o.json === false ? "application/msgpack" : "application/json");
  const tenant = o.tenant ?? "default";
  const subject = env.ns.run(tenant, o.node, job.type, o.priority ?? 3, job.id);
  const data = o.json === false ? encode(job) : te.encode(JSON.stringify(job));
  const ack = await env.js.publish(subject, data, { headers: h, msgID: fastJobMsgId(tenant, job.id) });
  return { subject, ack };
}

const def = (id: string) => ({ tenantId: "default", group: "default", id });

describe("fast lane: the worker", () => {
  it("runs a job published as JSON on its run subject: before/after events, run log, one create of the finished record", async () => {
    const w = env.worker({ node: "fl1" });
    const seen: unknown[] = [];
    w.register("fast-echo", async (ctx) => {
      seen.push(ctx.args);
      return { echoed: ctx.args["n"] };
    });
    await w.start();
    const id = uniqueName("f");
    const events: Msg[] = [];
    const sub = env.nc.subscribe(env.ns.eventFilter({ jobId: id }), {
      callback: (_e, m) => void events.push(m),
    });
    await env.nc.flush();
    const { ack } = await publishFast(
      { id, name: "echo", type: "fast-echo", args: { n: 7 }, nodeName: "fl1" },
      { node: "fl1" },
    );
    expect(ack.duplicate).toBe(false);
    const done = await env.waitRecord(
      def(id) as never,
      (j) => j.state.status === "completed",
      "finished record",
    );
    expect(seen).toEqual([{ n: 7 }]);
    expect(done.state).toMatchObject({
      result: { echoed: 7 },
      tryCount: 0,
      triggerCount: 1,
      isAbandoned: false,
    });
    // the acceptance time is the stream's: the record was created then, and its one run is in doneRuns
    expect(done.state.doneRuns).toEqual([String(Date.parse(done.state.createdAt))]);
    expect(done.state.lastFireTime).toBe(done.state.createdAt);
    expect(done.revision).toBeGreaterThan(0);
    await waitFor(() => events.length >= 2, { message: "before and after events" });
    sub.unsubscribe();
    expect(events.map((m) => m.subject.split(".").pop())).toEqual(["before", "after"]);
    const after = JSON.parse(new TextDecoder().decode(events[1]!.data)) as JobEventData;
    expect(after).toMatchObject({ status: "completed", result: { echoed: 7 }, type: "fast-echo" });
    await expect
      .poll(async () => (await env.runLog(def(id))).map((e) => e.outcome), { timeout: 10_000 })
      .toEqual(["started", "succeeded"]);
    // acked: nothing left in the stream
    await waitFor(async () => (await env.topo.jsm.streams.info(env.ns.streams.run)).state.messages === 0, {
      message: "run stream empty",
    });
  });

  it("the same job published twice inside the duplicate window is stored once (Nats-Msg-Id) and runs once", async () => {
    const id = uniqueName("dup");
    const job = { id, name: "dup", type: "fast-dup", nodeName: "fl2" };
    const first = await publishFast(job, { node: "fl2", json: false });
    const second = await publishFast(job, { node: "fl2", json: false });
    expect(first.ack.duplicate).toBe(false);
    expect(second.ack.duplicate).toBe(true);
    expect(second.ack.seq).toBe(first.ack.seq);
    const w = env.worker({ node: "fl2" });
    let runs = 0;
    w.register("fast-dup", async () => void runs++);
    await w.start();
    await env.waitRecord(def(id) as never, (j) => j.state.status === "completed", "completed");
    expect(runs).toBe(1);
  });

  it("removeOnComplete true (the job's own, or the worker's retention for its type) writes nothing", async () => {
    const w = env.worker({ node: "fl3", retention: { types: { "fast-gone": { removeOnComplete: true } } } });
    w.register("fast-gone", async () => "ok");
    w.register("fast-own", async () => "ok");
    await w.start();
    const a = uniqueName("gone");
    const b = uniqueName("own");
    const ran = [a, b].map((id) => w.events.next("run:success", (e) => e.fire.jobId === id));
    await publishFast({ id: a, name: "a", type: "fast-gone", nodeName: "fl3" }, { node: "fl3" });
    await publishFast(
      { id: b, name: "b", type: "fast-own", nodeName: "fl3", removeOnComplete: true },
      { node: "fl3" },
    );
    await Promise.all(ran);
    await expect
      .poll(async () => (await env.runLog(def(a))).map((e) => e.outcome), { timeout: 10_000 })
      .toEqual(["started", "succeeded"]);
    expect(await env.record(def(a) as never)).toBeUndefined();
    expect(await env.record(def(b) as never)).toBeUndefined();
    expect(
      await env.topo.jobs.keys().then(async (it) => {
        const keys: string[] = [];
        for await (const k of it) keys.push(k);
        return keys.filter((k) => k.endsWith(a) || k.endsWith(b));
      }),
    ).toEqual([]);
  });

  it("a failure with tries left is stored failedRetry with its retry time (the scheduler's to retry)", async () => {
    const w = env.worker({ node: "fl4" });
    w.register("fast-flaky", async () => {
      throw new Error("not yet");
    });
    await w.start();
    const id = uniqueName("flaky");
    const before = Date.now();
    await publishFast(
      { id, name: "flaky", type: "fast-flaky", nodeName: "fl4", maxTryCount: 2 },
      { node: "fl4" },
    );
    const rec = await env.waitRecord(def(id) as never, (j) => j.state.tryCount === 1, "failedRetry stored");
    expect(rec.def).toMatchObject({ id, type: "fast-flaky", jobType: "once", maxTryCount: 2 });
    expect(rec.state).toMatchObject({ status: "failedRetry", lastError: "not yet", triggerCount: 1 });
    expect(Date.parse(rec.state.retryAt!)).toBeGreaterThanOrEqual(before + 500);
    expect(rec.state.lastFireTime).toBe(rec.state.createdAt);
  });

  it("a malformed or mis-addressed job is terminated and dead-lettered with the reason, with a deadletter event", async () => {
    const w = env.worker({ node: "fl5" });
    let runs = 0;
    w.register("fast-good", async () => void runs++);
    await w.start();
    const poison: { subject: string; error: string; field?: string }[] = [];
    w.events.on("message:poison", (p) => void poison.push(p));
    const dl: Msg[] = [];
    const sub = env.nc.subscribe(env.ns.eventFilter({ phase: "deadletter" }), {
      callback: (_e, m) => void dl.push(m),
    });
    await env.nc.flush();
    const cases: [Record<string, unknown> & { id: string; type: string }, { priority?: number }, string][] = [
      [{ id: uniqueName("p1"), type: "fast-good", nodeName: "fl5" }, {}, "name"],
      [{ id: uniqueName("p2"), name: "x", type: "fast-good", nodeName: "fl5", delayMs: 1000 }, {}, "delayMs"],
      [{ id: uniqueName("p3"), name: "x", type: "fast-good", nodeName: "fl5" }, { priority: 5 }, "priority"],
      [{ id: uniqueName("p4"), name: "x", type: "fast-good", nodeName: "fl5", args: [1] }, {}, "args"],
    ];
    for (const [job, o] of cases) await publishFast(job, { node: "fl5", ...o });
    await waitFor(() => poison.length === cases.length, { message: "all poison" });
    // by job id: they come through different consumers (the mis-addressed one on p5), in any order
    const fieldById = new Map(poison.map((p) => [p.subject.split(".").pop(), p.field]));
    expect(cases.map(([job]) => fieldById.get(job.id))).toEqual(cases.map((c) => c[2]));
    for (const [job, , field] of cases) {
      const letters = await env.deadLetters("default", job.id);
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({ reason: "poison" });
      expect(letters[0]!.error).toMatch(new RegExp(`^invalid fast-lane job: ${field}`));
    }
    await waitFor(() => dl.length === cases.length, { message: "deadletter events" });
    sub.unsubscribe();
    const first = dl.find((m) => m.subject.includes(`.${cases[0]![0].id}.`))!;
    const data = JSON.parse(new TextDecoder().decode(first.data)) as JobEventData;
    expect(data).toMatchObject({
      reason: "poison",
      phase: "deadletter",
      tenantId: "default",
      type: "fast-good",
    });
    expect(data.error).toMatch(/name/);
    expect(runs).toBe(0);
    await waitFor(async () => (await env.topo.jsm.streams.info(env.ns.streams.run)).state.messages === 0, {
      message: "terminated, not redelivered",
    });
  });

  it("a redelivered fast job whose run finished is not run again: its record's doneRuns say so", async () => {
    // a run that wrote its record and lost its ack: the record is there, the message comes back (delivery 2)
    const id = uniqueName("again");
    const { subject } = await publishFast(
      { id, name: "again", type: "fast-once", nodeName: "fl6" },
      { node: "fl6" },
    );
    const stored = await env.topo.jsm.streams.getMessage(env.ns.streams.run, { last_by_subj: subject });
    const acceptedMs = stored!.timestamp ? Date.parse(stored!.timestamp) : NaN;
    expect(Number.isFinite(acceptedMs)).toBe(true);
    const at = new Date(acceptedMs).toISOString();
    await env.store.create({
      def: {
        ...parseJobInput({ id, name: "again", type: "fast-once", nodeName: "fl6" }),
        id,
      } as JobDefinition,
      state: { ...initialState(at), status: "completed", doneRuns: [String(acceptedMs)], lastFireTime: at },
    });
    // the first delivery, taken and handed back on the worker's own consumer: the next is delivery 2
    const c = env.ns.runConsumer("fl6", "fast-once", 3);
    await env.topo.jsm.consumers.add(env.ns.streams.run, {
      durable_name: c.name,
      filter_subject: c.filter,
      ack_policy: AckPolicy.Explicit,
      max_deliver: -1,
    });
    const consumer = await env.js.consumers.get(env.ns.streams.run, c.name);
    const first = await consumer.next({ expires: 5_000 });
    expect(first?.subject).toBe(subject);
    first!.nak();

    const w = env.worker({ node: "fl6" });
    let runs = 0;
    w.register("fast-once", async () => void runs++);
    const skipped = w.events.next("run:skipped", (e) => e.fire.jobId === id);
    await w.start();
    const e = await skipped;
    expect(e.reason).toBe("finished");
    expect(e.delivery).toBe(2);
    expect(runKeyOf(e.fire)).toBe(String(acceptedMs));
    expect(runs).toBe(0);
  });
});
