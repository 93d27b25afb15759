import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { uniqueName, waitFor } from "@taskjet/testing";
import { createWorker } from "@taskjet/worker-runtime";
import { decode, ErrorCode, NotFoundError, TaskjetError, ValidationError } from "@taskjet/protocol";
import { SchedulerService } from "@taskjet/scheduler";
import {
  BackgroundJobManager,
  BackgroundWorkerManager,
  backgroundWorkerId,
  createClient,
  defineJob,
  TaskjetClient,
  type JobEvent,
} from "@taskjet/client";
import { startStack, type Stack } from "@taskjet/test-stack";

const future = () => new Date(Date.now() + 3600_000).toISOString();

async function rejectsWith(p: Promise<unknown>, code: string, field?: string): Promise<TaskjetError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(TaskjetError);
  const e = err as TaskjetError;
  expect(e.code).toBe(code);
  if (field !== undefined) expect(e.field).toBe(field);
  return e;
}

describe("TaskjetClient against a real scheduler and worker", () => {
  let stack: Stack;
  const doWorkCalls: string[] = [];

  beforeAll(async () => {
    stack = await startStack({
      worker: true,
      node: "n1",
      register: (w) => {
        w.register("echo", async (ctx) => ({ echoed: ctx.args }));
        w.register("email", async (ctx) => ({ sentTo: (ctx.args as { to: string }).to }));
      },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("queue is a no-op for an existing id; exists and get", async () => {
    const s = stack.client.scheduler;
    const id = uniqueName("job");
    const first = await s.queue({ id, name: "q1", type: "echo", beginTime: future() });
    expect(first).toMatchObject({ id, created: true });
    expect(first.job.status).toBe("queuing");
    const again = await s.queue({ id, name: "changed", type: "echo", beginTime: future() });
    expect(again.created).toBe(false);
    expect(again.job.name).toBe("q1");
    expect(await s.exists(id)).toBe(true);
    expect(await s.exists(uniqueName("nope"))).toBe(false);
    expect((await s.get(id)).name).toBe("q1");
    const err = await rejectsWith(s.get(uniqueName("nope")), ErrorCode.NotFound);
    expect(err).toBeInstanceOf(NotFoundError);
  });

  it("queueMany, list with filters and paging, iterate", async () => {
    const s = stack.client.scheduler;
    const group = uniqueName("g");
    const r = await s.queueMany(
      [1, 2, 3].map((i) => ({ name: `many-${i}`, type: "echo", group, beginTime: future() })),
    );
    expect(r.results).toHaveLength(3);
    expect(r.results.every((x) => x.created)).toBe(true);
    const page = await s.list({ group, limit: 2 });
    expect(page.total).toBe(3);
    expect(page.jobs).toHaveLength(2);
    expect(page.nextOffset).toBe(2);
    const rest = await s.list({ group, limit: 2, offset: 2 });
    expect(rest.jobs).toHaveLength(1);
    const all = [];
    for await (const j of s.iterate({ group }, 2)) all.push(j.name);
    expect(all.sort()).toEqual(["many-1", "many-2", "many-3"]);
    expect((await s.list({ group, type: "nosuchtype" })).total).toBe(0);
  });

  it("queueMany takes any number of jobs: several requests, results in input order, bad input stores none", async () => {
    const s = stack.client.scheduler;
    const group = uniqueName("big");
    const jobs = Array.from({ length: 2_345 }, (_, i) => ({
      id: `${group}-${i}`,
      name: `big-${i}`,
      type: "echo",
      group,
      beginTime: future(),
    }));
    // one bad job anywhere rejects the whole array before any request is sent
    const badGroup = uniqueName("bad");
    const bad = jobs.map((j) => ({ ...j, id: `x${j.id}`, group: badGroup }));
    bad[2_000] = { ...bad[2_000]!, name: "" };
    await rejectsWith(s.queueMany(bad), ErrorCode.InvalidArgument, "jobs.2000.name");
    expect((await s.list({ group: badGroup })).total).toBe(0);
    const r = await s.queueMany(jobs);
    expect(r.results.map((x) => x.id)).toEqual(jobs.map((j) => j.id));
    expect(r.results.every((x) => x.created)).toBe(true);
    expect((await s.list({ group, limit: 1 })).total).toBe(2_345);
    // queued again: every one exists already (the seed's Queue is a no-op then)
    expect((await s.queueMany(jobs.slice(0, 1_500))).results.every((x) => !x.created)).toBe(true);
  });

  it("update changes only the patched fields", async () => {
    const s = stack.client.scheduler;
    const { id } = await s.queue({ name: "upd", type: "echo", beginTime: future(), args: { a: 1 } });
    const job = await s.update(id, { description: "new", args: { a: 2 } });
    expect(job).toMatchObject({ description: "new", args: { a: 2 }, name: "upd" });
    expect((await s.get(id)).description).toBe("new");
  });

  it("pause, resume, stop, start, remove by id, ids and filter", async () => {
    const s = stack.client.scheduler;
    const group = uniqueName("g");
    const ids = (
      await s.queueMany([1, 2].map((i) => ({ name: `b${i}`, type: "echo", group, beginTime: future() })))
    ).results.map((r) => r.id);
    const [a, b] = ids as [string, string];
    await s.pause(a);
    expect((await s.get(a)).status).toBe("paused");
    await s.resume(a);
    expect((await s.get(a)).status).not.toBe("paused");
    const stopped = await s.stop(ids);
    expect(stopped.results.map((r) => r.ok)).toEqual([true, true]);
    expect((await s.get(b)).status).toBe("stopped");
    const started = await s.start({ filter: { group } });
    expect(started.results).toHaveLength(2);
    expect((await s.get(b)).status).not.toBe("stopped");
    // started again: live jobs, removed only with force
    expect((await s.remove(ids)).results.map((r) => r.error?.code)).toEqual([
      "FAILED_PRECONDITION",
      "FAILED_PRECONDITION",
    ]);
    await s.remove(ids, { force: true });
    expect(await s.exists(a)).toBe(false);
    await rejectsWith(s.pause(a), ErrorCode.NotFound);
  });

  it("trigger runs the job: before/after events (iterator and callbacks) and the run log", async () => {
    const s = stack.client.scheduler;
    const { id } = await s.queue({ name: "trig", type: "echo", args: { x: 1 }, beginTime: future() });
    const sub = stack.client.events.subscribe({ jobId: id });
    await sub.ready();
    const viaCallback: JobEvent[] = [];
    const cb = stack.client.events.on({ type: "echo", phases: "after" }, (e) => {
      if (e.jobId === id) viaCallback.push(e);
    });
    await cb.ready();
    await s.trigger(id);
    const seen: JobEvent[] = [];
    for await (const e of sub) {
      seen.push(e);
      if (e.phase === "after") break;
    }
    await sub.close();
    expect(seen.map((e) => e.phase)).toEqual(["before", "after"]);
    const after = seen[1]!;
    expect(after).toMatchObject({
      jobId: id,
      jobType: "echo",
      group: "default",
      type: "io.taskjet.job.after",
    });
    expect(after.data).toMatchObject({ name: "trig", args: { x: 1 } });
    await waitFor(() => viaCallback.length > 0, { message: "callback event" });
    await cb.close();
    // the worker logs the start of a run and its outcome
    const done = await waitFor(async () => (await s.logs(id)).find((e) => e.outcome === "succeeded"), {
      message: "a succeeded run log entry",
    });
    expect(done).toMatchObject({ jobId: id, attempt: 1, node: "n1" });
  });

  it("publisher queues for this client's node, dispatcher for a named one", async () => {
    const client = stack.client;
    const pub = await client.publisher.publish({ name: "pub", type: "echo", beginTime: future() });
    expect(pub.job.nodeName).toBe(client.options.nodeName);
    const sub = client.events.subscribe({ phases: "after", type: "echo" });
    await sub.ready();
    const d = await client.dispatcher.dispatch("n1", { name: "disp", type: "echo" });
    expect(d.job.nodeName).toBe("n1");
    for await (const e of sub) {
      if (e.jobId === d.id) {
        expect(e.data.node).toBe("n1");
        break;
      }
    }
    await sub.close();
    await expect(client.dispatcher.dispatch("bad node!", { name: "x", type: "echo" })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      field: "nodeName",
    });
  });

  it("status shows the leader, the replica and the worker", async () => {
    const st = await stack.client.scheduler.status();
    expect(st.leader).toBeDefined();
    expect(st.leader!.epoch).toBeGreaterThan(0);
    expect(st.replicas.length).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await stack.client.scheduler.status()).workers.some((w) => w.node === "n1"), {
      message: "worker n1 in status",
    });
    const types = await stack.client.cluster.types();
    expect(types.map((t) => t.type)).toEqual(expect.arrayContaining(["echo", "email"]));
    const consumers = await stack.client.cluster.consumers();
    expect(consumers.length).toBeGreaterThan(0);
    await stack.client.cluster.checkStore();
  });

  it("bad input gets a typed error and changes nothing", async () => {
    const s = stack.client.scheduler;
    await s.queue({ name: "keep", type: "echo", beginTime: future() });
    const before = await stack.snapshot();
    await rejectsWith(s.queue({ name: "x", type: "bad\ttype" }), ErrorCode.InvalidArgument, "type");
    await rejectsWith(
      s.queue({ name: "x", type: "echo", jobType: "period" }),
      ErrorCode.InvalidArgument,
      "cron",
    );
    await rejectsWith(
      s.queue({ name: "x", type: "echo", jobType: "period", cron: "0 0 25 * * ?" }),
      ErrorCode.InvalidArgument,
      "cron",
    );
    await rejectsWith(
      s.queueMany([
        { name: "ok", type: "echo" },
        { name: "bad", type: "echo", jobType: "persistent" },
      ]),
      ErrorCode.InvalidArgument,
      "jobs.1.intervalSeconds",
    );
    const keep = (before as { id: string; name: string }[]).find((j) => j.name === "keep")!;
    await rejectsWith(
      s.update(keep.id, { priority: "urgent" as never }),
      ErrorCode.InvalidArgument,
      "patch.priority",
    );
    await rejectsWith(s.pause([]), ErrorCode.InvalidArgument);
    await rejectsWith(s.logs(keep.id, 0), ErrorCode.InvalidArgument, "limit");
    // the scheduler's own check: the tenant comes from the subject
    await rejectsWith(
      s.queue({ name: "x", type: "echo", tenantId: "other" }),
      ErrorCode.InvalidArgument,
      "tenantId",
    );
    expect(await stack.snapshot()).toEqual(before);
  });

  it("BackgroundJobManager.enqueue validates args by a registered schema and queues a once job", async () => {
    const jobs = new BackgroundJobManager(stack.client.scheduler).register(
      "email",
      z.strictObject({ to: z.email() }),
    );
    const before = await stack.snapshot();
    const bad = await rejectsWith(
      jobs.enqueue("email", { to: "not-an-address" }),
      ErrorCode.InvalidArgument,
      "args.to",
    );
    expect(bad).toBeInstanceOf(ValidationError);
    await rejectsWith(
      jobs.enqueue("email", { to: "a@example.com" }, { delaySeconds: -1 }),
      ErrorCode.InvalidArgument,
      "delaySeconds",
    );
    expect(await stack.snapshot()).toEqual(before);

    const sub = stack.client.events.subscribe({ type: "email", phases: "after" });
    await sub.ready();
    const id = await jobs.enqueue("email", { to: "a@example.com" }, { priority: "high" });
    const job = await stack.client.scheduler.get(id);
    expect(job).toMatchObject({
      type: "email",
      name: "email",
      jobType: "once",
      priority: "high",
      group: "background",
    });
    for await (const e of sub) {
      if (e.jobId === id) {
        expect(e.data.result).toEqual({ sentTo: "a@example.com" });
        break;
      }
    }
    await sub.close();
    const delayed = await jobs.enqueue("email", { to: "b@example.com" }, { delaySeconds: 3600 });
    const d = await stack.client.scheduler.get(delayed);
    expect(Date.parse(d.beginTime!)).toBeGreaterThan(Date.now() + 3500_000);
  });

  it("BackgroundWorkerManager.add is idempotent by worker name across process starts and runs doWork", async () => {
    const name = `cleanup ${uniqueName("w")}`;
    const group = uniqueName("bgw");
    const runtime = createWorker({ nc: stack.nc, prefix: stack.prefix, node: "n1", idlePollMs: 1000 });
    const worker = { name, period: 1, doWork: async () => void doWorkCalls.push(name) };
    // first "process start"
    const first = await new BackgroundWorkerManager(stack.client.scheduler, runtime, { group }).add(worker);
    expect(first).toMatchObject({ id: backgroundWorkerId(name), created: true });
    expect(first.job).toMatchObject({ jobType: "persistent", intervalSeconds: 1, type: first.id });
    await runtime.start();
    try {
      // second "process start": same id, nothing new stored
      const second = await new BackgroundWorkerManager(stack.client.scheduler, undefined, { group }).add(
        worker,
      );
      expect(second).toMatchObject({ id: first.id, created: false, updated: false });
      expect((await stack.client.scheduler.list({ group })).total).toBe(1);
      await waitFor(() => doWorkCalls.includes(name), { timeoutMs: 20_000, message: "doWork ran" });
      // a changed period updates the stored schedule instead of adding a job
      const third = await new BackgroundWorkerManager(stack.client.scheduler, undefined, { group }).add({
        ...worker,
        period: 30,
      });
      expect(third).toMatchObject({ created: false, updated: true });
      expect(third.job.intervalSeconds).toBe(30);
      expect((await stack.client.scheduler.list({ group })).total).toBe(1);
      await rejectsWith(
        new BackgroundWorkerManager(stack.client.scheduler, undefined, { group }).add({
          ...worker,
          period: "0 * * * * ?",
        }),
        ErrorCode.FailedPrecondition,
        "period",
      );
      await rejectsWith(
        new BackgroundWorkerManager(stack.client.scheduler).add({ ...worker, period: -5 }),
        ErrorCode.InvalidArgument,
        "period",
      );
    } finally {
      await stack.client.scheduler.stop(first.id).catch(() => undefined);
      await runtime.stop();
    }
  });

  it("TaskjetClient.connect validates settings before connecting and talks to the scheduler", async () => {
    await rejectsWith(
      TaskjetClient.connect({ servers: [stack.nats.url], prefix: stack.prefix, tenant: "bad tenant" }, {}),
      ErrorCode.InvalidArgument,
      "tenant",
    );
    await rejectsWith(
      TaskjetClient.connect({ servers: [stack.nats.url], prefix: "bad.prefix" }, {}),
      ErrorCode.InvalidArgument,
      "prefix",
    );
    const client = await TaskjetClient.connect(
      {},
      { NATS_URL: stack.nats.url, TASKJET_PREFIX: stack.prefix },
    );
    try {
      expect((await client.scheduler.status()).leader).toBeDefined();
      const other = client.forTenant("acme");
      expect((await other.scheduler.list()).total).toBe(0);
    } finally {
      await client.close();
      await client.close();
    }
    expect(client.nc.isClosed()).toBe(true);
  });

  it("connect takes fastLane and argsSchemaCacheMs; at 0 the fast lane's args check reads the registry on each queue", async () => {
    const env = { NATS_URL: stack.nats.url, TASKJET_PREFIX: stack.prefix };
    await rejectsWith(
      TaskjetClient.connect({ argsSchemaCacheMs: -1 }, env),
      ErrorCode.InvalidArgument,
      "argsSchemaCacheMs",
    );
    const viaScheduler = await TaskjetClient.connect({ fastLane: false }, env);
    expect(viaScheduler.options).toMatchObject({ fastLane: false, argsSchemaCacheMs: 5_000 });
    await viaScheduler.close();
    const client = await TaskjetClient.connect({ argsSchemaCacheMs: 0 }, env);
    const type = uniqueName("fresh");
    const node = uniqueName("n");
    try {
      const first = await client.scheduler.queue({ name: "a", type, args: { n: 1 }, nodeName: node });
      expect(first.warnings?.[0]).toContain("no worker has registered");
      const runtime = createWorker({ nc: stack.nc, prefix: stack.prefix, node, idlePollMs: 1000 });
      runtime.register(defineJob(type, z.object({ n: z.number() })), async () => ({}));
      await runtime.start(); // its schema is in the registry from here
      try {
        // not the unknown-type answer of a moment ago: the registry is read again
        await rejectsWith(
          client.scheduler.queue({ name: "b", type, args: { n: "x" }, nodeName: node }),
          ErrorCode.InvalidArgument,
          "args.n",
        );
      } finally {
        await runtime.stop();
      }
    } finally {
      await client.close();
    }
  });

  it("standby and activate hand the lead over and back", async () => {
    const s = stack.client.scheduler;
    await s.standby();
    await waitFor(async () => (await s.status()).leader === undefined, {
      timeoutMs: 15_000,
      message: "no leader on standby",
    });
    await s.activate();
    await waitFor(async () => (await s.status()).leader !== undefined, {
      timeoutMs: 15_000,
      message: "leader after activate",
    });
  });

  it("with no scheduler listening a request is UNAVAILABLE", async () => {
    const client = stack.client.forTenant("default");
    const lonely = (await import("@taskjet/client")).createClient(client.nc, { prefix: uniqueName("none") });
    await rejectsWith(lonely.scheduler.get("x"), ErrorCode.Unavailable);
  });

  it("a fast-lane job no stream stores is UNAVAILABLE; one the stream does not answer is TIMEOUT, sent again marked resent", async () => {
    const prefix = uniqueName("nostream");
    const none = createClient(stack.nc, { prefix, queueRetries: 0, requestTimeoutMs: 1_000 });
    await rejectsWith(none.scheduler.queue({ name: "x", type: "echo" }), ErrorCode.Unavailable);
    // a listener on the run subjects that never answers: the outcome is unknown, so the client sends the
    // same message again (same Nats-Msg-Id), marked Taskjet-Resent for the worker's store check
    const seen: { id: string | undefined; resent: string | undefined }[] = [];
    const tap = stack.nc.subscribe(`${prefix}.run.>`, {
      callback: (_e, m) => {
        seen.push({ id: m.headers?.get("Nats-Msg-Id"), resent: m.headers?.get("Taskjet-Resent") });
      },
    });
    await stack.nc.flush();
    const late = createClient(stack.nc, { prefix, queueRetries: 1, requestTimeoutMs: 500 });
    await rejectsWith(late.scheduler.queue({ id: "late-1", name: "x", type: "echo" }), ErrorCode.Timeout);
    expect(seen).toEqual([
      { id: "default.late-1:q", resent: "" },
      { id: "default.late-1:q", resent: "1" },
    ]);
    tap.unsubscribe();
    await Promise.all([none.close(), late.close()]);
  });

  it("queue is sent again while its outcome is unknown, and stores the job once (its id made by the client)", async () => {
    const prefix = uniqueName("late");
    const client = createClient(stack.nc, { prefix, queueRetries: 6, requestTimeoutMs: 1_000 });
    let requests = 0;
    const ids = new Set<string>();
    // a listener on the subject: the client's first try finds a subscriber but no answer (TIMEOUT), as when
    // a scheduler took the request and died
    const tap = stack.nc.subscribe(`${prefix}.api.default.queue`, {
      callback: (_e, m) => {
        requests++;
        ids.add(String((decode(m.data) as { id?: string }).id));
      },
    });
    await stack.nc.flush();
    // the first tries go unanswered (TIMEOUT); a scheduler comes up while the client retries
    const queued = client.scheduler.queue({ name: "late", type: "echo", beginTime: future() });
    await waitFor(() => requests >= 1, { message: "a first try" });
    const late = new SchedulerService({ nats: stack.nc, prefix });
    await late.start();
    try {
      const r = await queued;
      expect(r.created).toBe(true);
      expect(requests).toBeGreaterThanOrEqual(2);
      // every try carried the same id: a try that landed cannot make a second job
      expect([...ids], JSON.stringify([...ids])).toEqual([r.id]);
      expect((await client.scheduler.list()).total).toBe(1);
    } finally {
      tap.unsubscribe();
      await late.stop();
    }
  });

  it("with queueRetries 0, queue fails at once when no scheduler answers", async () => {
    const client = createClient(stack.nc, { prefix: uniqueName("none"), queueRetries: 0 });
    await rejectsWith(client.scheduler.queue({ name: "x", type: "echo" }), ErrorCode.Unavailable);
  });

  it("speaks JSON on the wire when asked to", async () => {
    const json = createClient(stack.nc, { prefix: stack.prefix, encoding: "json" });
    const { id, created } = await json.scheduler.queue({ name: "json", type: "echo", beginTime: future() });
    expect(created).toBe(true);
    expect((await json.scheduler.get(id)).name).toBe("json");
    await rejectsWith(json.scheduler.get(uniqueName("nope")), ErrorCode.NotFound);
  });
});

describe("JobScheduler.shutdown", () => {
  it("asks the scheduler to stop: afterwards nobody answers", async () => {
    const stack = await startStack();
    try {
      await stack.client.scheduler.shutdown();
      await waitFor(
        () =>
          stack.client.scheduler.status().then(
            () => false,
            (err: unknown) => (err as TaskjetError).code === ErrorCode.Unavailable,
          ),
        { timeoutMs: 20_000, message: "UNAVAILABLE after shutdown" },
      );
    } finally {
      await stack.stop();
    }
  });
});
