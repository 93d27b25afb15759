/**
 * Issue 12 item 2, end to end: immediate once jobs take the fast lane (straight to the run stream, the
 * PubAck their acceptance) from the SDK, the gateway and any NATS client; the scheduler holds nothing of
 * them, yet get, list and remove see them while they wait, and a failure is retried by the scheduler from
 * the record the worker stores, up to the dead letter.
 */
import { jetstreamManager, jetstream } from "@nats-io/jetstream";
import { headers as natsHeaders, type Msg } from "@nats-io/nats-core";
import { Kvm } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@taskjet/client";
import { JobStore } from "@taskjet/nats";
import { fastJobMsgId, namespace, type JobEventData } from "@taskjet/protocol";
import { uniqueName, waitFor } from "@taskjet/testing";
import { startDevGateway, startStack, type Stack } from "@taskjet/test-stack";

let stack: Stack;
let ran: Map<string, number>;
beforeAll(async () => {
  ran = new Map();
  stack = await startStack({
    worker: true,
    register: (w) => {
      w.register("fast-echo", async (ctx) => {
        ran.set(ctx.job.id, (ran.get(ctx.job.id) ?? 0) + 1);
        return { got: ctx.args };
      });
      w.register("fast-fail", async (ctx) => {
        ran.set(ctx.job.id, (ran.get(ctx.job.id) ?? 0) + 1);
        throw new Error(`fail ${ctx.attempt}`);
      });
      w.register("fast-tiny", () => Promise.resolve());
    },
    workerOptions: { concurrency: 100, backoffBaseMs: 100, backoffMaxMs: 200 },
  });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

const refused = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    // by its code: the SDK's error classes may come from another copy of the protocol package
    const e = err as { code?: string; field?: string };
    if (typeof e.code === "string") return { code: e.code, field: e.field };
    throw err;
  }
  throw new Error("not refused");
};

describe("the fast lane", () => {
  it("the SDK's queue publishes an immediate once job: it runs, with events, run log and its result in the store; the scheduler stored nothing for it before", async () => {
    const { client, nc, scheduler } = stack;
    const id = uniqueName("sdk");
    const events: Msg[] = [];
    const sub = nc.subscribe(namespace(stack.prefix).eventFilter({ jobId: id }), {
      callback: (_e, m) => void events.push(m),
    });
    await nc.flush();
    const r = await client.scheduler.queue({ id, name: "sdk", type: "fast-echo", args: { a: 1 } });
    expect(r).toMatchObject({ id, created: true, job: { status: "queuing", revision: 0 } });
    const done = await waitFor(
      async () => {
        const j = await client.scheduler.get(id).catch(() => undefined);
        return j?.status === "completed" ? j : undefined;
      },
      { message: "completed" },
    );
    expect(done).toMatchObject({ result: { got: { a: 1 } }, triggerCount: 1, tryCount: 0 });
    expect(done.revision).toBeGreaterThan(0);
    await waitFor(() => events.length >= 2, { message: "before and after" });
    sub.unsubscribe();
    expect(events.map((m) => m.subject.split(".").pop())).toEqual(["before", "after"]);
    expect((JSON.parse(new TextDecoder().decode(events[1]!.data)) as JobEventData).status).toBe("completed");
    const logs = await client.scheduler.logs(id);
    expect(logs.map((e) => e.outcome)).toEqual(["started", "succeeded"]);
    // queued again with the same id (inside the duplicate window): stored once, nothing runs again
    const again = await client.scheduler.queue({ id, name: "sdk", type: "fast-echo", args: { a: 1 } });
    expect(again.created).toBe(false);
    expect(ran.get(id)).toBe(1);
    // the scheduler's index learnt of the job only when the worker wrote its finished record
    expect(scheduler.index().byId("default", id)?.status).toBe("completed");
  });

  it("get, exists, list and remove see a job while it waits (a type no worker serves); remove needs force and deletes its message", async () => {
    const s = stack.client.scheduler;
    const id = uniqueName("wait");
    const type = uniqueName("nobody");
    await s.queue({ id, name: "waits", type, priority: "high", group: "fastg" });
    const view = await s.get(id);
    expect(view).toMatchObject({
      id,
      type,
      status: "queuing",
      priority: "high",
      group: "fastg",
      revision: 0,
    });
    expect(await s.exists(id)).toBe(true);
    const listed = await s.list({ type });
    expect(listed.total).toBe(1);
    expect(listed.jobs.map((j) => j.id)).toEqual([id]);
    expect((await s.list({ status: "queuing", group: "fastg" })).jobs.map((j) => j.id)).toEqual([id]);
    expect((await s.list({ type, status: "completed" })).total).toBe(0);
    expect(await refused(s.pause(id))).toEqual({ code: "FAILED_PRECONDITION", field: "id" });
    expect(await refused(s.remove(id))).toEqual({ code: "FAILED_PRECONDITION", field: "status" });
    const removed = await s.remove(id, { force: true });
    expect(removed.results[0]).toMatchObject({ ok: true });
    expect(await refused(s.get(id))).toMatchObject({ code: "NOT_FOUND", field: "id" });
    expect(await s.exists(id)).toBe(false);
    const jsm = await jetstreamManager(stack.nc);
    const info = await jsm.streams.info(`${stack.prefix}-run`, {
      subjects_filter: `${stack.prefix}.run.default.>`,
    });
    expect(Object.keys(info.state.subjects ?? {}).filter((k) => k.endsWith(`.${id}`))).toEqual([]);
  });

  it("any NATS client can publish JSON on the documented subject; a malformed one is dead-lettered with the reason and a deadletter event", async () => {
    const js = jetstream(stack.nc);
    const h = natsHeaders();
    h.set("Content-Type", "application/json");
    const id = uniqueName("raw");
    const subject = `${stack.prefix}.run.default._any.fast-echo.p3.${id}`;
    const body = { id, name: "raw", type: "fast-echo", args: { from: "raw" } };
    const ack = await js.publish(subject, new TextEncoder().encode(JSON.stringify(body)), {
      headers: h,
      msgID: fastJobMsgId("default", id),
    });
    expect(ack.duplicate).toBe(false);
    await waitFor(
      async () => (await stack.client.scheduler.get(id).catch(() => undefined))?.status === "completed",
      {
        message: "raw job completed",
      },
    );
    expect((await stack.client.scheduler.get(id)).result).toEqual({ got: { from: "raw" } });

    const bad = uniqueName("bad");
    const events: Msg[] = [];
    const sub = stack.nc.subscribe(namespace(stack.prefix).eventFilter({ jobId: bad, phase: "deadletter" }), {
      callback: (_e, m) => void events.push(m),
    });
    await stack.nc.flush();
    await js.publish(
      `${stack.prefix}.run.default._any.fast-echo.p3.${bad}`,
      new TextEncoder().encode(JSON.stringify({ id: bad, name: "bad", type: "fast-echo", delayMs: 5 })),
      // no Content-Type: JSON is recognised by its "{"; fresh headers (the first publish's carry its msg id)
      { msgID: fastJobMsgId("default", bad) },
    );
    await waitFor(() => events.length === 1, { message: "deadletter event" });
    sub.unsubscribe();
    expect(JSON.parse(new TextDecoder().decode(events[0]!.data))).toMatchObject({
      reason: "poison",
      error: expect.stringMatching(/^invalid fast-lane job: delayMs/),
    });
    const jsm = await jetstreamManager(stack.nc);
    const letter = await jsm.streams.getMessage(`${stack.prefix}-dlq`, {
      last_by_subj: `${stack.prefix}.dlq.default.${bad}`,
    });
    expect(letter).not.toBeNull();
    expect(ran.get(bad)).toBeUndefined();
  });

  it("a fast-lane job over maxJobBytes is refused by the SDK naming its biggest field, and dead-lettered by the worker when a raw client sends it", async () => {
    const big = { pad: "x".repeat(900_000) };
    const one = await refused(
      stack.client.scheduler.queue({ id: uniqueName("big"), name: "big", type: "fast-echo", args: big }),
    );
    expect(one).toEqual({ code: "INVALID_ARGUMENT", field: "args" });
    const id0 = uniqueName("ok");
    const many = await refused(
      stack.client.scheduler.queueMany([
        { id: id0, name: "ok", type: "fast-echo" },
        { id: uniqueName("big"), name: "big", type: "fast-echo", args: big },
      ]),
    );
    expect(many).toEqual({ code: "INVALID_ARGUMENT", field: "jobs.1.args" });
    // all or nothing: the good job of the refused batch was not sent
    expect(await stack.client.scheduler.exists(id0)).toBe(false);

    const raw = uniqueName("rawbig");
    const events: Msg[] = [];
    const sub = stack.nc.subscribe(namespace(stack.prefix).eventFilter({ jobId: raw, phase: "deadletter" }), {
      callback: (_e, m) => void events.push(m),
    });
    await stack.nc.flush();
    const body = { id: raw, name: "raw", type: "fast-echo", args: { pad: "x".repeat(100_000) } };
    await jetstream(stack.nc).publish(
      `${stack.prefix}.run.default._any.fast-echo.p3.${raw}`,
      new TextEncoder().encode(JSON.stringify(body)),
      { msgID: fastJobMsgId("default", raw) },
    );
    await waitFor(() => events.length === 1, { message: "deadletter event" });
    sub.unsubscribe();
    expect(JSON.parse(new TextDecoder().decode(events[0]!.data))).toMatchObject({
      reason: "poison",
      error: expect.stringMatching(
        /^invalid fast-lane job: maxJobBytes: the message is \d+ bytes, more than the 65536/,
      ),
    });
    expect(ran.get(raw)).toBeUndefined();
  });

  it("the gateway's POST /v1/jobs takes the fast lane for an immediate once job", async () => {
    const { gateway, url } = await startDevGateway(stack);
    try {
      const id = uniqueName("gw");
      const res = await fetch(`${url}/v1/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id, name: "gw", type: "fast-echo", args: { via: "rest" } }),
      });
      expect(res.status).toBeLessThan(300);
      await waitFor(
        async () => (await stack.client.scheduler.get(id).catch(() => undefined))?.status === "completed",
        {
          message: "gateway job completed",
        },
      );
      expect((await stack.client.scheduler.get(id)).result).toEqual({ got: { via: "rest" } });
      expect(ran.get(id)).toBe(1);
    } finally {
      await gateway.stop();
    }
  });

  it("a failing fast job is stored failedRetry by its worker, retried by the scheduler, and dead-lettered after maxTryCount", async () => {
    const s = stack.client.scheduler;
    const id = uniqueName("retry");
    await s.queue({ id, name: "retry", type: "fast-fail", maxTryCount: 3 });
    const abandoned = await waitFor(
      async () => {
        const j = await s.get(id).catch(() => undefined);
        return j?.status === "stopped" ? j : undefined;
      },
      { message: "abandoned after 3 tries", timeoutMs: 20_000 },
    );
    expect(abandoned).toMatchObject({ isAbandoned: true, tryCount: 3, lastError: "fail 3" });
    expect(ran.get(id)).toBe(3);
    const logs = await s.logs(id);
    expect(logs.filter((e) => e.outcome !== "started").map((e) => [e.outcome, e.attempt])).toEqual([
      ["failed", 1],
      ["failed", 2],
      ["deadLettered", 3],
    ]);
    const jsm = await jetstreamManager(stack.nc);
    const letter = await jsm.streams.getMessage(`${stack.prefix}-dlq`, {
      last_by_subj: `${stack.prefix}.dlq.default.${id}`,
    });
    expect(letter).not.toBeNull();
  });

  it("10,000 fast jobs with removeOnComplete run while the scheduler holds no job (index 0) and the store gets not one write", async () => {
    const { client, scheduler, worker, nc, prefix } = stack;
    const store = new JobStore(await new Kvm(nc).open(`${prefix}-jobs`), namespace(prefix));
    const jsm = await jetstreamManager(nc);
    const bucketBefore = (await jsm.streams.info(`KV_${prefix}-jobs`)).state.last_seq;
    const indexBefore = scheduler.index().size;
    const N = 10_000;
    const batch = `b${uniqueName("")}`;
    let done = 0;
    const onSuccess = (e: { fire: { jobId: string } }) => void (e.fire.jobId.startsWith(batch) && done++);
    worker!.events.on("run:success", onSuccess);
    let maxIndex = indexBefore;
    const r = await client.scheduler.queueMany(
      Array.from({ length: N }, (_, i) => ({
        id: `${batch}-${i}`,
        name: "t",
        type: "fast-tiny",
        removeOnComplete: true,
      })),
    );
    expect(r.results.every((x) => x.created)).toBe(true);
    await waitFor(
      () => {
        maxIndex = Math.max(maxIndex, scheduler.index().size);
        return done >= N;
      },
      { timeoutMs: 120_000, intervalMs: 50, message: `${N} fast jobs ran` },
    );
    worker!.events.off("run:success", onSuccess);
    expect(maxIndex).toBe(indexBefore);
    expect((await jsm.streams.info(`KV_${prefix}-jobs`)).state.last_seq).toBe(bucketBefore);
    expect((await store.list()).filter((j) => j.def.id.startsWith(batch))).toEqual([]);
  }, 180_000);

  it("with fastLane off, the SDK queues through the scheduler as before (a stored job)", async () => {
    const c = createClient(stack.nc, { prefix: stack.prefix, fastLane: false });
    const id = uniqueName("stored");
    const r = await c.scheduler.queue({ id, name: "stored", type: uniqueName("nobody") });
    expect(r.job.revision).toBeGreaterThan(0);
    expect(stack.scheduler.index().byId("default", id)).toBeDefined();
  });
});
