/**
 * Issue 19: a once job's delay as users write it: `intervalSeconds` (the seed's), `delayMs` (BullMQ's
 * `delay`) or `runAt` (an ISO time; a Date in the SDK). One at most, each checked naming its field; the
 * scheduler turns delayMs and runAt into beginTime when it accepts the job. Real nats-server, scheduler,
 * worker and gateway.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName, waitFor } from "@taskjet/testing";
import type { GatewayService } from "@taskjet/gateway";
import { ErrorCode, TaskjetError } from "@taskjet/protocol";
import { BackgroundJobManager, type QueueInput } from "@taskjet/client";
import { startDevGateway, startStack, type Stack } from "@taskjet/test-stack";

async function refusedField(p: Promise<unknown>): Promise<string | undefined> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TaskjetError);
  expect((err as TaskjetError).code).toBe(ErrorCode.InvalidArgument);
  return (err as TaskjetError).field;
}

describe("once jobs: intervalSeconds, delayMs, runAt", () => {
  let stack: Stack;
  let gateway: GatewayService;
  let base: string;

  beforeAll(async () => {
    stack = await startStack({ worker: true, register: (w) => w.register("tick", async () => "ok") });
    ({ gateway, url: base } = await startDevGateway(stack));
  });
  afterAll(async () => {
    await gateway?.stop();
    await stack?.stop();
  });

  const completed = (id: string) =>
    waitFor(async () => (await stack.client.scheduler.get(id)).status === "completed", {
      timeoutMs: 20_000,
      message: `job ${id} completed`,
    });

  it("each of the three forms queues and runs", async () => {
    const s = stack.client.scheduler;
    const t0 = Date.now();
    const delayed = await s.queue({ name: "d", type: "tick", delayMs: 300 });
    const t1 = Date.now();
    // counted from acceptance by the scheduler: stored as beginTime
    const begin = Date.parse(delayed.job.beginTime!);
    expect(begin).toBeGreaterThanOrEqual(t0 + 300);
    expect(begin).toBeLessThanOrEqual(t1 + 300);
    expect(delayed.job).not.toHaveProperty("delayMs");
    const soon = await s.queue({ name: "r", type: "tick", runAt: new Date(Date.now() + 200) });
    const interval = await s.queue({ name: "i", type: "tick", intervalSeconds: 1 });
    const past = await s.queue({ name: "p", type: "tick", runAt: "2020-01-01T00:00:00Z" });
    await Promise.all([delayed, soon, interval, past].map((r) => completed(r.id)));
  });

  it("a runAt in the future is kept as beginTime; a Date and an ISO string are the same", async () => {
    const at = new Date(Date.now() + 3_600_000);
    const fromDate = await stack.client.scheduler.queue({ name: "later", type: "tick", runAt: at });
    const fromIso = await stack.client.scheduler.queue({
      name: "later",
      type: "tick",
      runAt: at.toISOString(),
    });
    expect(fromDate.job.beginTime).toBe(at.toISOString());
    expect(fromIso.job.beginTime).toBe(at.toISOString());
    expect(fromDate.job.nextRunTime).toBe(at.toISOString());
  });

  it("more than one form, a bad value, or a delay on a recurring job is refused naming the field", async () => {
    const s = stack.client.scheduler;
    const before = await stack.snapshot();
    const cases: [QueueInput, string][] = [
      [{ name: "x", type: "tick", delayMs: 1000, runAt: new Date() }, "runAt"],
      [{ name: "x", type: "tick", intervalSeconds: 5, delayMs: 1000 }, "delayMs"],
      [{ name: "x", type: "tick", delayMs: -1 }, "delayMs"],
      [{ name: "x", type: "tick", delayMs: 1.5 }, "delayMs"],
      [{ name: "x", type: "tick", runAt: "tomorrow" }, "runAt"],
      [{ name: "x", type: "tick", runAt: new Date("nope") }, "runAt"],
      [{ name: "x", type: "tick", runAt: new Date(), beginTime: new Date().toISOString() }, "runAt"],
      [{ name: "x", type: "tick", jobType: "persistent", intervalSeconds: 5, delayMs: 10 }, "delayMs"],
      [{ name: "x", type: "tick", jobType: "period", cron: "0 0 * * * ?", runAt: new Date() }, "runAt"],
    ];
    for (const [job, field] of cases) {
      expect(await refusedField(s.queue(job)), JSON.stringify(job)).toBe(field);
    }
    // the gateway refuses it as well (the same schema, before anything reaches the scheduler)
    const res = await fetch(`${base}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        name: uniqueName("g"),
        type: "tick",
        delayMs: 5,
        runAt: "2030-01-01T00:00:00Z",
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: "INVALID_ARGUMENT", field: "runAt" } });
    expect(await stack.snapshot()).toEqual(before);
  });

  it("the gateway takes runAt; BackgroundJobManager takes delayMs and runAt beside delaySeconds", async () => {
    const at = "2031-05-01T10:00:00.000Z";
    const res = await fetch(`${base}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: uniqueName("g"), type: "tick", runAt: at }),
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { job: { beginTime: string } }).job.beginTime).toBe(at);
    const manager = new BackgroundJobManager(stack.client.scheduler);
    const id = await manager.enqueue("tick", {}, { delayMs: 100 });
    await completed(id);
    const later = await manager.enqueue("tick", {}, { runAt: new Date(at) });
    expect((await stack.client.scheduler.get(later)).beginTime).toBe(at);
    expect(await refusedField(manager.enqueue("tick", {}, { delaySeconds: 1, delayMs: 1000 }))).toBe(
      "delayMs",
    );
  });
});
