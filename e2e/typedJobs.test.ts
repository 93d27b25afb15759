/**
 * Issue 19: a job type defined once (defineJob) types the producer and the worker, and its args are refused
 * at acceptance (control API and gateway, INVALID_ARGUMENT naming `args.<field>`) once a worker published
 * the type's schema; a type no worker registered is accepted with a warning and counted. Real nats-server,
 * scheduler, worker and gateway.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { uniqueName, waitFor } from "@taskjet/testing";
import type { GatewayService } from "@taskjet/gateway";
import { schedulerMetrics } from "@taskjet/scheduler";
import { defineJob } from "@taskjet/jobs";
import { ErrorCode, TaskjetError, decode, encode } from "@taskjet/protocol";
import { BackgroundJobManager } from "@taskjet/client";
import { startDevGateway, startStack, type Stack } from "@taskjet/test-stack";

const sendEmail = defineJob(
  "email.send",
  z.object({ to: z.email(), subject: z.string(), cc: z.array(z.email()).default([]) }),
  { group: "mail", maxTryCount: 3 },
);

async function refusal(p: Promise<unknown>): Promise<TaskjetError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TaskjetError);
  return err as TaskjetError;
}

describe("typed job definitions, args checked at acceptance", () => {
  let stack: Stack;
  let gateway: GatewayService;
  let base: string;
  const sent: { to: string; cc: string[] }[] = [];

  beforeAll(async () => {
    stack = await startStack({
      worker: true,
      register: (w) =>
        w.register(sendEmail, async ({ args }) => {
          sent.push({ to: args.to, cc: args.cc });
          return "sent";
        }),
    });
    ({ gateway, url: base } = await startDevGateway(stack));
    await waitFor(async () => (await stack.client.cluster.types()).some((t) => t.type === sendEmail.type), {
      timeoutMs: 15_000,
      message: "the worker's email.send schema in the registry",
    });
  });
  afterAll(async () => {
    await gateway?.stop();
    await stack?.stop();
  });

  it("a typed queue runs with the args the worker's schema parsed, and the definition's defaults", async () => {
    const { id, job, warnings } = await stack.client.scheduler.queue(sendEmail, {
      to: "a@example.com",
      subject: "hi",
    });
    expect(warnings).toBeUndefined();
    expect(job).toMatchObject({ type: "email.send", name: "email.send", group: "mail", maxTryCount: 3 });
    await waitFor(async () => (await stack.client.scheduler.get(id)).status === "completed", {
      timeoutMs: 20_000,
      message: "the typed job completed",
    });
    expect(sent).toContainEqual({ to: "a@example.com", cc: [] });
  });

  it("the control API refuses bad args naming args.<field>, and stores nothing", async () => {
    const before = await stack.snapshot();
    // a raw NATS request: no SDK check in between, the scheduler's own
    const reply = await stack.nc.request(
      `${stack.prefix}.api.default.queue`,
      encode({ name: "raw", type: "email.send", args: { to: "not-an-email", subject: "hi" } }),
      { timeout: 10_000 },
    );
    const body = decode(reply.data) as {
      ok: boolean;
      error?: { code: string; field: string; message: string };
    };
    expect(body).toMatchObject({ ok: false, error: { code: ErrorCode.InvalidArgument, field: "args.to" } });
    const many = await refusal(
      stack.client.scheduler.queueMany([
        { name: "ok", type: "email.send", args: { to: "a@example.com", subject: "hi" } },
        { name: "bad", type: "email.send", args: { to: "a@example.com" } },
      ]),
    );
    expect(many).toMatchObject({ code: ErrorCode.InvalidArgument, field: "jobs.1.args.subject" });
    expect(await stack.snapshot()).toEqual(before);
  });

  it("an update's new args are checked too (patch.args.<field>; args.<field> through the gateway)", async () => {
    const later = new Date(Date.now() + 3_600_000);
    const { id } = await stack.client.scheduler.queue(
      sendEmail,
      { to: "a@example.com", subject: "s" },
      { runAt: later },
    );
    const err = await refusal(stack.client.scheduler.update(id, { args: { to: "nope", subject: "s" } }));
    expect(err).toMatchObject({ code: ErrorCode.InvalidArgument, field: "patch.args.to" });
    const res = await fetch(`${base}/v1/jobs/${id}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ args: { to: "a@example.com" } }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: "INVALID_ARGUMENT", field: "args.subject" } });
    expect((await stack.client.scheduler.get(id)).args).toEqual({ to: "a@example.com", subject: "s" });
    const ok = await stack.client.scheduler.update(id, { args: { to: "b@example.com", subject: "t" } });
    expect(ok.args).toEqual({ to: "b@example.com", subject: "t" });
  });

  it("a type no worker registered is accepted with a warning, and counted by the scheduler when it accepts it", async () => {
    const metrics = schedulerMetrics(stack.scheduler);
    const counted = async () =>
      (await metrics.getSingleMetric("taskjet_scheduler_unknown_type_jobs_total")?.get())?.values[0]?.value ??
      0;
    // the fast lane: the SDK checks the registry itself and warns; the scheduler never sees the job
    const fast = await stack.client.scheduler.queue({ name: "orphan", type: "nobody.handles.this" });
    expect(fast.warnings).toEqual([
      expect.stringMatching(/no worker has registered type "nobody\.handles\.this"/),
    ]);
    expect(await counted()).toBe(0);
    // through the scheduler (a delay, even 0, is not the fast lane's): warned and counted
    const r = await stack.client.scheduler.queue({
      delayMs: 0,
      name: "orphan",
      type: "nobody.handles.this",
      args: { x: 1 },
    });
    expect(r.created).toBe(true);
    expect(r.warnings).toEqual([
      expect.stringMatching(/no worker has registered type "nobody\.handles\.this"/),
    ]);
    expect(await counted()).toBe(1);
    const many = await stack.client.scheduler.queueMany([
      { name: "o1", type: "nobody.handles.this", delayMs: 0 },
      { name: "o2", type: "nobody.handles.this", delayMs: 0 },
    ]);
    expect(many.warnings).toHaveLength(1);
    expect(await counted()).toBe(3);
  });

  it("the gateway answers 400 naming args.<field>, and 201 with warnings for an unregistered type", async () => {
    const post = (body: unknown) =>
      fetch(`${base}/v1/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const bad = await post({ name: uniqueName("g"), type: "email.send", args: { to: 7, subject: "hi" } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: "INVALID_ARGUMENT", field: "args.to" } });
    const orphan = await post({ name: uniqueName("g"), type: "nobody.handles.that" });
    expect(orphan.status).toBe(201);
    const created = (await orphan.json()) as { job: { type: string }; warnings: string[] };
    expect(created.job.type).toBe("nobody.handles.that");
    expect(created.warnings[0]).toMatch(/no worker has registered type "nobody\.handles\.that"/);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^taskjet_gateway_jobs_accepted_unchecked_total 1$/m);
  });

  it("the publisher and dispatcher take the definition too", async () => {
    const r = await stack.client.dispatcher.dispatch("n1", sendEmail, { to: "d@example.com", subject: "s" });
    expect(r.job).toMatchObject({ nodeName: "n1", group: "mail", type: "email.send" });
    await waitFor(() => sent.some((s) => s.to === "d@example.com"), {
      timeoutMs: 20_000,
      message: "dispatched ran",
    });
    const err = await refusal(
      stack.client.dispatcher.dispatch("n1", sendEmail, { to: "nope", subject: "s" }),
    );
    expect(err).toMatchObject({ code: ErrorCode.InvalidArgument, field: "args.to" });
  });

  it("BackgroundJobManager.enqueue takes the definition too", async () => {
    const manager = new BackgroundJobManager(stack.client.scheduler);
    const id = await manager.enqueue(sendEmail, { to: "b@example.com", subject: "s", cc: ["c@example.com"] });
    await waitFor(() => sent.some((s) => s.to === "b@example.com"), {
      timeoutMs: 20_000,
      message: "enqueued ran",
    });
    expect((await stack.client.scheduler.get(id)).group).toBe("mail");
    const err = await refusal(manager.enqueue(sendEmail, { to: "nope", subject: "s" }));
    expect(err).toMatchObject({ code: ErrorCode.InvalidArgument, field: "args.to" });
  });
});
