/**
 * Issue 19: the type and group names users already use (dots, colons, spaces, commas: the seed's
 * assembly-qualified type names) queue, run and show as written, against a real nats-server, scheduler,
 * worker and gateway, on both lanes (the fast lane and through the scheduler: a delay, fastLane off, recurring).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName, waitFor } from "@taskjet/testing";
import type { GatewayService } from "@taskjet/gateway";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { subjectToken, type EventPhase } from "@taskjet/protocol";
import { createClient, type JobEvent } from "@taskjet/client";
import { startDevGateway, startStack, type Stack } from "@taskjet/test-stack";

const SEED_TYPE = "My.Company.Jobs.ConsoleJob, My.Company.Jobs";
const DOTTED = "email.send";
const GROUP = "billing:invoice";

describe("printable type and group names", () => {
  let stack: Stack;
  let gateway: GatewayService;
  let base: string;
  const ran: { type: string; args: unknown }[] = [];

  beforeAll(async () => {
    stack = await startStack({
      worker: true,
      register: (w) => {
        w.register(SEED_TYPE, async (ctx) => {
          ran.push({ type: ctx.job.type, args: ctx.args });
          return { printed: (ctx.args as { message: string }).message };
        });
        w.register(DOTTED, async (ctx) => {
          ran.push({ type: ctx.job.type, args: ctx.args });
          return "sent";
        });
      },
    });
    ({ gateway, url: base } = await startDevGateway(stack));
  });
  afterAll(async () => {
    await gateway?.stop();
    await stack?.stop();
  });

  it("the seed's type name and a dotted name queue, run and show as written in events", async () => {
    const events: JobEvent[] = [];
    const phases: EventPhase[] = ["before", "after"];
    const sub = stack.client.events.on({ type: SEED_TYPE, group: GROUP, phases }, (e) => {
      events.push(e);
    });
    await sub.ready();
    const seedId = uniqueName("seed");
    const dottedId = uniqueName("dotted");
    await stack.client.scheduler.queue({
      id: seedId,
      name: "console",
      type: SEED_TYPE,
      group: GROUP,
      args: { message: "hi" },
    });
    await stack.client.scheduler.queue({ id: dottedId, name: "mail", type: DOTTED, args: { to: "a@b" } });
    await waitFor(() => events.some((e) => e.jobId === seedId && e.phase === "after"), {
      timeoutMs: 20_000,
      message: "the seed-typed job's after event",
    });
    await waitFor(() => ran.some((r) => r.type === DOTTED), {
      timeoutMs: 20_000,
      message: "the dotted job ran",
    });
    await sub.close();
    const after = events.find((e) => e.jobId === seedId && e.phase === "after");
    expect(after).toMatchObject({ jobType: SEED_TYPE, group: GROUP });
    expect(after?.subject).toContain(`.${subjectToken(GROUP)}.${subjectToken(SEED_TYPE)}.${seedId}.after`);
    expect(ran).toContainEqual({ type: SEED_TYPE, args: { message: "hi" } });
    // the filter by type finds only the seed-typed job (no other type's events on that subject)
    expect(new Set(events.map((e) => e.jobType))).toEqual(new Set([SEED_TYPE]));
  });

  it("through the scheduler (a delay, the fast lane off, a recurring job) the names run and show as written", async () => {
    const events: JobEvent[] = [];
    const sub = stack.client.events.on({ phases: ["after"] }, (e) => {
      events.push(e);
    });
    await sub.ready();
    const viaScheduler = createClient(stack.nc, { prefix: stack.prefix, fastLane: false });
    const delayed = uniqueName("delayed");
    const immediate = uniqueName("immediate");
    const recurring = uniqueName("recurring");
    const s = stack.client.scheduler;
    await s.queue({ id: delayed, name: "mail", type: DOTTED, group: GROUP, args: {}, delayMs: 100 });
    const stored = await viaScheduler.scheduler.queue({
      id: immediate,
      name: "console",
      type: SEED_TYPE,
      args: { message: "x" },
    });
    expect(stored.job.revision, "stored by the scheduler, not published on the fast lane").toBeGreaterThan(0);
    await s.queue({
      id: recurring,
      name: "every second",
      type: SEED_TYPE,
      group: GROUP,
      args: { message: "again" },
      jobType: "persistent",
      intervalSeconds: 1,
      maxCount: 2,
    });
    const ids = [delayed, immediate, recurring];
    await waitFor(
      () =>
        ids.every((id) => events.some((e) => e.jobId === id)) &&
        events.filter((e) => e.jobId === recurring).length === 2,
      { timeoutMs: 20_000, message: "after events of the delayed, the immediate and both recurring runs" },
    );
    await sub.close();
    const of = (id: string) => events.filter((e) => e.jobId === id);
    expect(of(delayed)[0]).toMatchObject({ jobType: DOTTED, group: GROUP, data: { status: "completed" } });
    expect(of(delayed)[0]?.subject).toContain(
      `.${subjectToken(GROUP)}.${subjectToken(DOTTED)}.${delayed}.after`,
    );
    expect(of(immediate)[0]).toMatchObject({ jobType: SEED_TYPE, data: { status: "completed" } });
    for (const e of of(recurring)) expect(e).toMatchObject({ jobType: SEED_TYPE, group: GROUP });
    // they went through the scheduler: each has a stored record showing the names as written
    expect(await s.get(delayed)).toMatchObject({ type: DOTTED, group: GROUP, status: "completed" });
    expect(await s.get(immediate)).toMatchObject({ type: SEED_TYPE, status: "completed", triggerCount: 1 });
    expect(await s.get(recurring)).toMatchObject({ type: SEED_TYPE, group: GROUP, triggerCount: 2 });
  });

  it("a token works as a subject token and inside a durable consumer name on the real server", async () => {
    const jsm = await jetstreamManager(stack.nc);
    const stream = `${stack.prefix}-tokens`;
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
    const names = [SEED_TYPE, DOTTED, GROUP, "a=b/c\\d*>", "Отправка письма", "emoji 😀"];
    for (const [i, n] of names.entries()) {
      const t = subjectToken(n);
      const durable = `${stack.prefix}-any-${t}-p3`;
      await jsm.consumers.add(stream, {
        durable_name: durable,
        filter_subject: `${stream}.${t}.p3`,
        ack_policy: AckPolicy.Explicit,
      });
      await jetstream(stack.nc).publish(`${stream}.${t}.p3`, new TextEncoder().encode(String(i)));
      const consumer = await jetstream(stack.nc).consumers.get(stream, durable);
      const m = await consumer.next({ expires: 5_000 });
      expect(m?.subject, n).toBe(`${stream}.${t}.p3`);
      expect(m?.string()).toBe(String(i));
      m?.ack();
    }
    await jsm.streams.delete(stream);
  });

  it("lists filter by the names as written; get, the gateway and the registry show them", async () => {
    const id = uniqueName("listed");
    const later = new Date(Date.now() + 3600_000).toISOString();
    await stack.client.scheduler.queue({
      id,
      name: "later",
      type: SEED_TYPE,
      group: GROUP,
      beginTime: later,
    });
    const page = await stack.client.scheduler.list({ type: SEED_TYPE, group: GROUP });
    expect(page.jobs.map((j) => j.id)).toContain(id);
    expect((await stack.client.scheduler.list({ type: "other.type" })).jobs).toEqual([]);
    const job = await stack.client.scheduler.get(id);
    expect(job).toMatchObject({ type: SEED_TYPE, group: GROUP });
    const res = await fetch(`${base}/v1/jobs/${id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ job: { type: SEED_TYPE, group: GROUP } });
    const q = new URLSearchParams({ type: SEED_TYPE, group: GROUP });
    const listed = (await (await fetch(`${base}/v1/jobs?${q.toString()}`)).json()) as {
      jobs: { id: string }[];
    };
    expect(listed.jobs.map((j) => j.id)).toContain(id);
    await waitFor(async () => (await stack.client.cluster.types()).some((t) => t.type === SEED_TYPE), {
      timeoutMs: 10_000,
      message: "the seed type in the registry",
    });
  });
});
