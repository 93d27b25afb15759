/**
 * The control API: every operation, its bad-input errors (typed, INVALID_ARGUMENT, the field named, the
 * store unchanged), raw JSON clients, bulk selectors and interrupt addressing, and the admin subjects.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/nats-core";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connectTo, startNats, type NatsServerFixture } from "@taskjet/testing";
import {
  decode,
  encode,
  TaskjetError,
  type BulkResult,
  type JobView,
  type ListResult,
  type QueueResult,
  type RunLogEntry,
  type SchedulerStatus,
} from "@taskjet/protocol";
import { request } from "@taskjet/nats";
import type { InterruptMessage, SchedulerService } from "../src/index.js";
import {
  api,
  iso,
  namespace,
  readJob,
  snapshot,
  startLeader,
  testOptions,
  uniqueName,
  waitFor,
  writeState,
} from "./harness.js";

let nats: NatsServerFixture;
let nc: NatsConnection;
let service: SchedulerService;
const prefix = uniqueName("a");
const ns = namespace(prefix);
const FAR = iso(Date.now() + 365 * 86_400_000);

beforeAll(async () => {
  nats = await startNats();
  nc = await connectTo(nats.url);
  service = await startLeader(testOptions(nc, prefix, { replicaId: "api-replica" }));
});
afterAll(async () => {
  await service?.stop();
  await nc?.close();
  await nats?.stop();
});

const call = <T = unknown>(op: Parameters<typeof api>[2], body: unknown, tenant = "t1") =>
  api<T>(nc, prefix, op, body, { tenant });
const job = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  name: `job ${id}`,
  type: "mail",
  beginTime: FAR,
  ...extra,
});

/** Expects a typed INVALID_ARGUMENT naming `field`, and the store unchanged. */
async function expectInvalid(op: Parameters<typeof api>[2], body: unknown, field: string, tenant = "t1") {
  const before = await snapshot(nc, prefix);
  const err = await call(op, body, tenant).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `${op} ${JSON.stringify(body)} should fail`).toBeInstanceOf(TaskjetError);
  expect(err).toMatchObject({ code: "INVALID_ARGUMENT", field });
  expect(await snapshot(nc, prefix)).toEqual(before);
}

describe("queue, queueMany, exists, get", () => {
  it("queue stores a job and answers with its view; queueing the same id again is a no-op", async () => {
    const r = await call<QueueResult>("queue", job("q1", { args: { to: "a@b.c" } }));
    expect(r).toMatchObject({ id: "q1", created: true });
    expect(r.job).toMatchObject({
      id: "q1",
      tenantId: "t1",
      group: "default",
      status: "queuing",
      triggerCount: 0,
      args: { to: "a@b.c" },
    });
    expect(r.job.revision).toBeGreaterThan(0);
    expect(r.job.nextRunTime).toBe(new Date(FAR).toISOString());
    const again = await call<QueueResult>("queue", job("q1", { group: "other", name: "changed" }));
    expect(again).toMatchObject({ id: "q1", created: false });
    expect(again.job.name).toBe("job q1");
    const generated = await call<QueueResult>("queue", { name: "anon", type: "mail", beginTime: FAR });
    expect(generated.id).toMatch(/^[0-9a-f]{32}$/);
  });

  it("rejects bad jobs with the field named and stores nothing", async () => {
    await expectInvalid("queue", { id: "b1", type: "mail" }, "name");
    await expectInvalid("queue", job("b2", { jobType: "period", cron: "61 * * * * ?" }), "cron");
    await expectInvalid("queue", job("b3", { jobType: "period" }), "cron");
    await expectInvalid("queue", job("b4", { intervalSeconds: -1 }), "intervalSeconds");
    await expectInvalid("queue", job("b5", { colour: "red" }), "(root)");
    await expectInvalid("queue", job("b6", { tenantId: "t2" }), "tenantId");
    await expectInvalid("queue", job("b.7"), "id");
    await expectInvalid("queue", job("b8", { timeZone: "Mars/Olympus" }), "timeZone");
    await expectInvalid("queue", "not a job", "(root)");
  });

  it("queueMany validates every job first: one bad job stores none", async () => {
    const jobs = [job("m0"), job("m1"), job("m2"), job("m3", { jobType: "period", cron: "nope" }), job("m4")];
    await expectInvalid("queueMany", { jobs }, "jobs.3.cron");
    await expectInvalid("queueMany", { jobs: [] }, "jobs");
    const ok = await call<{ results: { id: string; created: boolean }[] }>("queueMany", {
      jobs: [job("m0"), job("m1"), job("q1")],
    });
    expect(ok.results).toEqual([
      { id: "m0", created: true },
      { id: "m1", created: true },
      { id: "q1", created: false },
    ]);
  });

  it("exists and get; typed errors for unknown and malformed ids", async () => {
    expect(await call("exists", { id: "q1" })).toEqual({ exists: true });
    expect(await call("exists", { id: "nope" })).toEqual({ exists: false });
    expect(await call("exists", { id: "q1" }, "t2")).toEqual({ exists: false });
    const { job: view } = await call<{ job: JobView }>("get", { id: "q1" });
    expect(view).toMatchObject({ id: "q1", name: "job q1", status: "queuing" });
    await expect(call("get", { id: "nope" })).rejects.toMatchObject({ code: "NOT_FOUND", field: "id" });
    await expectInvalid("get", { id: "a.b" }, "id");
    await expectInvalid("get", {}, "id");
  });

  it("accepts a job type no worker serves: queued and visible, its fires wait in the stream", async () => {
    const r = await call<QueueResult>("queue", { id: "orphan", name: "orphan", type: "nobody-serves-this" });
    expect(r.job.status).toBe("queuing");
    const js = jetstream(nc);
    // nobody consumes the run stream in this suite: the fire waits there until a worker for the type exists
    await waitFor(async () => {
      const info = await (
        await js.jetstreamManager()
      ).streams.info(ns.streams.run, { subjects_filter: `${prefix}.run.t1.>` });
      return (info.state.subjects?.[`${prefix}.run.t1._any.nobody-serves-this.p3.=fire`] ?? 0) >= 1;
    });
    // a once job's fire is recorded by the worker that runs it: until then it stays queuing, uncounted
    expect((await readJob(nc, prefix, "t1.default.orphan"))?.state).toMatchObject({
      status: "queuing",
      triggerCount: 0,
    });
  });
});

describe("list and update", () => {
  it("filters and pages", async () => {
    await call("queueMany", {
      jobs: [
        job("l1", { group: "g1", type: "pdf", nodeName: "n1" }),
        job("l2", { group: "g1", type: "pdf", name: "Monthly report" }),
        job("l3", { group: "g2", type: "pdf", jobType: "persistent", intervalSeconds: 3600 }),
      ],
    });
    const g1 = await call<ListResult>("list", { group: "g1" });
    expect(g1.jobs.map((j) => j.id)).toEqual(["l1", "l2"]);
    expect(g1.total).toBe(2);
    expect(
      (await call<ListResult>("list", { type: "pdf", jobType: "persistent" })).jobs.map((j) => j.id),
    ).toEqual(["l3"]);
    expect((await call<ListResult>("list", { node: "n1" })).jobs.map((j) => j.id)).toEqual(["l1"]);
    expect((await call<ListResult>("list", { name: "monthly" })).jobs.map((j) => j.id)).toEqual(["l2"]);
    const page = await call<ListResult>("list", { type: "pdf", limit: 2, offset: 0 });
    expect(page).toMatchObject({ total: 3, nextOffset: 2 });
    expect((await call<ListResult>("list", { type: "pdf", limit: 2, offset: 2 })).jobs).toHaveLength(1);
    expect((await call<ListResult>("list", { status: "paused" })).total).toBe(0);
    await expectInvalid("list", { limit: 0 }, "limit");
    await expectInvalid("list", { status: "sleeping" }, "status");
  });

  it("update merges a patch, re-validates the whole job, recomputes the next fire", async () => {
    await call("queue", job("u1", { jobType: "period", cron: "0 0 0 1 1 ?", beginTime: undefined }));
    const { job: updated } = await call<{ job: JobView }>("update", {
      id: "u1",
      patch: { cron: "0 0 12 * * ?", args: { n: 1 } },
    });
    expect(updated).toMatchObject({ cron: "0 0 12 * * ?", args: { n: 1 }, name: "job u1" });
    const next = Date.parse(updated.nextRunTime!);
    expect(new Date(next).getUTCHours()).toBe(12);
    expect(next - Date.now()).toBeLessThanOrEqual(86_400_000);
    await expectInvalid("update", { id: "u1", patch: { cron: "bad cron" } }, "patch.cron");
    await expectInvalid("update", { id: "u1", patch: { jobType: "once" } }, "patch");
    await expectInvalid(
      "update",
      { id: "u1", patch: { endTime: "2000-01-01T00:00:00Z", beginTime: "2001-01-01T00:00:00Z" } },
      "patch.endTime",
    );
    await expectInvalid("update", { id: "u1" }, "patch");
    await expect(call("update", { id: "nope", patch: {} })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("lifecycle operations", () => {
  it("pause / resume / stop / start / remove change the status and interrupt runs on their nodes", async () => {
    const interrupts: { subject: string; body: InterruptMessage }[] = [];
    const sub = nc.subscribe(`${prefix}.ctl.>`, {
      callback: (_e, m) =>
        void interrupts.push({ subject: m.subject, body: decode(m.data) as InterruptMessage }),
    });
    try {
      await call("queueMany", { jobs: [job("s1", { nodeName: "n1" }), job("s2"), job("s3")] });
      // s1 runs on n2 (recorded run), s2 runs untracked, s3 is idle
      await writeState(nc, prefix, "t1.default.s1", {
        status: "running",
        running: [
          {
            fireId: "t1.s1:1",
            nominalTime: iso(1),
            worker: "w",
            node: "n2",
            startedAt: iso(Date.now()),
            attempt: 1,
          },
        ],
      });
      await writeState(nc, prefix, "t1.default.s2", { status: "running" });
      const paused = await call<BulkResult>("pause", { ids: ["s1", "s2", "s3", "ghost"] });
      expect(paused.results.map((r) => [r.id, r.ok, r.error?.code])).toEqual([
        ["s1", true, undefined],
        ["s2", true, undefined],
        ["s3", true, undefined],
        ["ghost", false, "NOT_FOUND"],
      ]);
      // all of each job, on its node and its runs' nodes; s3 too: nothing runs, but workers drop their copy
      await waitFor(() => interrupts.length >= 4);
      expect(interrupts).toEqual([
        {
          subject: `${prefix}.ctl.n1`,
          body: { jobId: "s1", tenantId: "t1", fireId: "*", reason: "paused" },
        },
        {
          subject: `${prefix}.ctl.n2`,
          body: { jobId: "s1", tenantId: "t1", fireId: "*", reason: "paused" },
        },
        {
          subject: `${prefix}.ctl._all`,
          body: { jobId: "s2", tenantId: "t1", fireId: "*", reason: "paused" },
        },
        {
          subject: `${prefix}.ctl._all`,
          body: { jobId: "s3", tenantId: "t1", fireId: "*", reason: "paused" },
        },
      ]);
      expect((await call<ListResult>("list", { status: "paused" })).jobs.map((j) => j.id)).toEqual([
        "s1",
        "s2",
        "s3",
      ]);

      const resumed = await call<BulkResult>("resume", { filter: { status: "paused" } });
      expect(resumed.results.every((r) => r.ok)).toBe(true);
      expect((await call<{ job: JobView }>("get", { id: "s3" })).job.status).toBe("queuing");

      await call("stop", { id: "s3" });
      expect((await call<{ job: JobView }>("get", { id: "s3" })).job.status).toBe("stopped");
      const noResume = await call<BulkResult>("resume", { id: "s3" });
      expect(noResume.results[0]).toMatchObject({ ok: false, error: { code: "FAILED_PRECONDITION" } });
      await writeState(nc, prefix, "t1.default.s3", { isAbandoned: true, tryCount: 7 });
      await call("start", { id: "s3" });
      expect((await call<{ job: JobView }>("get", { id: "s3" })).job).toMatchObject({
        status: "queuing",
        tryCount: 0,
        isAbandoned: false,
      });

      interrupts.length = 0;
      await call("remove", { id: "s1", force: true });
      expect(await call("exists", { id: "s1" })).toEqual({ exists: false });
      await waitFor(() => interrupts.length === 2, { timeoutMs: 2000, message: JSON.stringify(interrupts) });
      expect(interrupts.map((i) => [i.subject, i.body.reason])).toEqual([
        [`${prefix}.ctl.n1`, "removed"],
        [`${prefix}.ctl.n2`, "removed"],
      ]);
    } finally {
      sub.unsubscribe();
    }
  });

  it("rejects malformed selectors without changing anything", async () => {
    await expectInvalid("pause", { id: "s2", ids: ["s3"] }, "id");
    await expectInvalid("pause", {}, "id");
    await expectInvalid("trigger", { ids: ["ok", "not ok"] }, "ids.1");
    await expectInvalid("resume", { filter: { status: "bogus" } }, "filter.status");
  });

  it("logs returns the last N run-log entries, newest last", async () => {
    const js = jetstream(nc);
    for (let i = 1; i <= 5; i++) {
      const entry: RunLogEntry = {
        fireId: `t1.s2:${i}`,
        jobId: "s2",
        tenantId: "t1",
        group: "default",
        type: "mail",
        name: "job s2",
        attempt: 1,
        nominalTime: iso(i * 1000),
        outcome: "succeeded",
        finishedAt: iso(i * 1000 + 5),
      };
      await js.publish(ns.log("t1", "s2"), encode(entry));
    }
    const { entries } = await call<{ entries: RunLogEntry[] }>("logs", { id: "s2", limit: 2 });
    expect(entries.map((e) => e.fireId)).toEqual(["t1.s2:4", "t1.s2:5"]);
    expect((await call<{ entries: RunLogEntry[] }>("logs", { id: "none" })).entries).toEqual([]);
    await expectInvalid("logs", { id: "s2", limit: 5000 }, "limit");
  });
});

describe("wire", () => {
  it("answers a raw JSON request (no SDK) in JSON, errors included", async () => {
    const h = natsHeaders();
    h.set("Content-Type", "application/json");
    const body = new TextEncoder().encode(
      JSON.stringify({ id: "raw1", name: "raw", type: "mail", beginTime: FAR }),
    );
    const reply = await nc.request(ns.api("t1", "queue"), body, { headers: h, timeout: 5_000 });
    expect(reply.headers?.get("Content-Type")).toBe("application/json");
    const parsed = JSON.parse(new TextDecoder().decode(reply.data)) as { ok: boolean; data: QueueResult };
    expect(parsed).toMatchObject({
      ok: true,
      data: { id: "raw1", created: true, job: { status: "queuing" } },
    });

    const bad = await nc.request(ns.api("t1", "queue"), new TextEncoder().encode('{"name":"x"}'), {
      headers: h,
      timeout: 5_000,
    });
    const err = JSON.parse(new TextDecoder().decode(bad.data)) as {
      ok: boolean;
      error: { code: string; field: string };
    };
    expect(err).toMatchObject({
      ok: false,
      error: { code: "INVALID_ARGUMENT", field: "type", retryable: false },
    });

    const garbage = await nc.request(ns.api("t1", "get"), new TextEncoder().encode("{not json"), {
      headers: h,
      timeout: 5_000,
    });
    expect(JSON.parse(new TextDecoder().decode(garbage.data))).toMatchObject({
      ok: false,
      error: { code: "DECODE_ERROR" },
    });
  });

  it("rejects a malformed tenant or operation in the subject", async () => {
    await expect(request(nc, `${prefix}.api.t1.fly`, {})).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      field: "op",
      details: { issues: [{ field: "op", message: expect.stringContaining('unknown operation "fly"') }] },
    });
  });

  it("every INVALID_ARGUMENT carries details.issues, single checks included", async () => {
    const raw = async (subject: string, body: unknown) => {
      const h = natsHeaders();
      h.set("Content-Type", "application/json");
      const m = await nc.request(subject, JSON.stringify(body), { headers: h, timeout: 5_000 });
      return JSON.parse(m.string()) as { ok: false; error: { field: string; details: unknown } };
    };
    const cases: [string, unknown, string][] = [
      [ns.api("t1", "queue"), job("m1", { tenantId: "t2" }), "tenantId"],
      [`${prefix}.api.t1.fly`, {}, "op"],
      [ns.api("t1", "queue"), { name: "x" }, "type"],
      [ns.api("t1", "pause"), { id: "a", force: true }, "force"],
      [ns.api("t1", "queue"), job("m2", { intervalSeconds: 0.5, jobType: "persistent" }), "intervalSeconds"],
      [ns.sys("status"), { nope: 1 }, "(root)"],
    ];
    for (const [subject, body, field] of cases) {
      const reply = await raw(subject, body);
      expect(reply, `${subject} ${JSON.stringify(body)}`).toMatchObject({
        ok: false,
        error: { code: "INVALID_ARGUMENT", field, details: { issues: expect.any(Array) } },
      });
      const issues = (reply.error.details as { issues: { field: string; message: string }[] }).issues;
      expect(issues.length).toBeGreaterThan(0);
      expect(issues[0]).toEqual({ field, message: expect.any(String) });
    }
  });

  it("reads JSON sent without a Content-Type and answers in JSON", async () => {
    const text = (s: string) => new TextEncoder().encode(s);
    const ok = await nc.request(
      ns.api("t1", "queue"),
      text(JSON.stringify({ id: "nohdr1", name: "no header", type: "mail", beginTime: FAR })),
      { timeout: 5_000 },
    );
    expect(ok.headers?.get("Content-Type")).toBe("application/json");
    expect(JSON.parse(ok.string())).toMatchObject({ ok: true, data: { id: "nohdr1", created: true } });
    expect(await readJob(nc, prefix, "t1.default.nohdr1")).toBeDefined();

    // broken JSON without the header: a JSON DECODE_ERROR that says what to send, not a msgpack one
    const bad = await nc.request(ns.api("t1", "get"), text('{"id": '), { timeout: 5_000 });
    expect(bad.headers?.get("Content-Type")).toBe("application/json");
    expect(JSON.parse(bad.string())).toMatchObject({
      ok: false,
      error: { code: "DECODE_ERROR", message: expect.stringContaining("Content-Type: application/msgpack") },
    });
    // an unknown Content-Type is answered in JSON
    const h = natsHeaders();
    h.set("Content-Type", "text/xml");
    const xml = await nc.request(ns.api("t1", "get"), text("<id/>"), { headers: h, timeout: 5_000 });
    expect(xml.headers?.get("Content-Type")).toBe("application/json");
    expect(JSON.parse(xml.string())).toMatchObject({
      ok: false,
      error: { code: "DECODE_ERROR", field: "Content-Type" },
    });
  });
});

describe("admin", () => {
  it("status names the leader, the replicas and the job counts", async () => {
    const status = await request<SchedulerStatus>(nc, ns.sys("status"), {});
    expect(status.leader).toMatchObject({ replicaId: "api-replica", pid: process.pid, role: "leader" });
    expect(status.leader!.epoch).toBeGreaterThan(0);
    expect(status.replicas.map((r) => r.replicaId)).toContain("api-replica");
    expect(status.jobs.total).toBeGreaterThan(5);
    expect(status.workers).toEqual([]);
  });

  it("status counts the run stream's backlog per node and job type (no worker here: every fire waits)", async () => {
    const jsm = await jetstreamManager(nc);
    const { state } = await jsm.streams.info(ns.streams.run, { subjects_filter: ">" });
    const status = await request<SchedulerStatus>(nc, ns.sys("status"), {});
    expect(state.messages).toBeGreaterThan(0);
    expect(status.backlog.reduce((n, b) => n + b.messages, 0)).toBe(state.messages);
    const expected = new Map<string, number>();
    for (const [subject, n] of Object.entries(state.subjects ?? {})) {
      const [, , , node, type] = subject.split(".");
      expected.set(`${node}/${type}`, (expected.get(`${node}/${type}`) ?? 0) + n);
    }
    expect(new Map(status.backlog.map((b) => [`${b.node}/${b.type}`, b.messages]))).toEqual(expected);
  });

  it("standby and activate a replica by its own subject", async () => {
    expect(await request(nc, `${ns.sys("standby")}.api-replica`, {})).toEqual({
      replicaId: "api-replica",
      role: "standby",
    });
    expect(service.role).toBe("standby");
    expect(service.isLeader()).toBe(false);
    // the API still answers while on standby
    expect(await call("exists", { id: "q1" })).toEqual({ exists: true });
    await request(nc, `${ns.sys("activate")}.api-replica`, {});
    await waitFor(() => service.isLeader(), { message: "leader again after activate" });
    await expect(request(nc, ns.sys("status"), { extra: 1 })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });
});
