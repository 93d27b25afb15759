/**
 * Limits at the control API: job size (maxJobBytes), minimum interval (minIntervalSeconds, also on update),
 * args nesting (raw JSON and msgpack far past the stack), list and logs pages cut to max_payload with a
 * nextOffset, a full job bucket answering RESOURCE_EXHAUSTED, and the remove / "all" rules of bulk
 * operations. Every refusal is typed, names the field and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/nats-core";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connectTo, startNats, type NatsServerFixture } from "@taskjet/testing";
import {
  decode,
  encode,
  initialState,
  parseJobInput,
  TaskjetError,
  type BulkResult,
  type JobView,
  type ListResult,
  type LogsResult,
  type QueueResult,
  type RunLogEntry,
} from "@taskjet/protocol";
import type { SchedulerService } from "../src/index.js";
import { api, iso, namespace, snapshot, startLeader, storeOf, testOptions, uniqueName } from "./harness.js";

let nats: NatsServerFixture;
let nc: NatsConnection;
const services: SchedulerService[] = [];
const prefix = uniqueName("lim");
// an operator who allows jobs every 0.1 s and of up to 256 KiB
const relaxed = uniqueName("lim");
const FAR = iso(Date.now() + 365 * 86_400_000);

beforeAll(async () => {
  nats = await startNats();
  nc = await connectTo(nats.url);
  services.push(await startLeader(testOptions(nc, prefix)));
  services.push(
    await startLeader(testOptions(nc, relaxed, { minIntervalSeconds: 0.1, maxJobBytes: 256 * 1024 })),
  );
});
afterAll(async () => {
  for (const s of services) await s.stop();
  await nc?.close();
  await nats?.stop();
});

const call = <T = unknown>(op: Parameters<typeof api>[2], body: unknown, p = prefix) =>
  api<T>(nc, p, op, body, { tenant: "t1" });
const job = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  name: `job ${id}`,
  type: "mail",
  beginTime: FAR,
  ...extra,
});
const pad = (bytes: number) => ({ pad: "x".repeat(bytes) });

async function failure(p: Promise<unknown>): Promise<TaskjetError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TaskjetError);
  return err as TaskjetError;
}

/** Expects INVALID_ARGUMENT naming `field`, with the store unchanged. */
async function expectInvalid(op: Parameters<typeof api>[2], body: unknown, field: string, p = prefix) {
  const before = await snapshot(nc, p);
  expect(await failure(call(op, body, p))).toMatchObject({ code: "INVALID_ARGUMENT", field });
  expect(await snapshot(nc, p)).toEqual(before);
}

/** Sends raw bytes as a request, the way a client in another language would. */
async function raw(
  op: string,
  bytes: Uint8Array,
  contentType: string,
): Promise<{ ok: boolean; error?: unknown }> {
  const h = natsHeaders();
  h.set("Content-Type", contentType);
  const m = await nc.request(namespace(prefix).api("t1", op as never), bytes, {
    timeout: 10_000,
    headers: h,
  });
  return decode(m.data, contentType === "application/json" ? "json" : "msgpack") as { ok: boolean };
}

describe("job size and interval", () => {
  it("refuses a job over maxJobBytes (default 64 KiB), naming args; 900 KB args change nothing", async () => {
    await expectInvalid("queue", job("big", { args: pad(900_000) }), "args");
    await expectInvalid("queue", job("big2", { args: pad(70_000) }), "args");
    await expectInvalid(
      "queueMany",
      { jobs: [job("ok1"), job("big3", { args: pad(70_000) })] },
      "jobs.1.args",
    );
    expect(await call<QueueResult>("queue", job("fits", { args: pad(60_000) }))).toMatchObject({
      created: true,
    });
    await expectInvalid("update", { id: "fits", patch: { args: pad(70_000) } }, "patch.args");
    // the operator's larger limit
    expect(await call<QueueResult>("queue", job("big", { args: pad(200_000) }), relaxed)).toMatchObject({
      created: true,
    });
  });

  it("refuses intervalSeconds under 1 s at queue and update unless the operator lowers the minimum", async () => {
    const every = (s: number) => ({ jobType: "persistent", intervalSeconds: s });
    await expectInvalid("queue", job("fast", every(0.001)), "intervalSeconds");
    await expectInvalid(
      "queueMany",
      { jobs: [job("f0", every(5)), job("f1", every(0.5))] },
      "jobs.1.intervalSeconds",
    );
    expect(await call<QueueResult>("queue", job("slow", every(5)))).toMatchObject({ created: true });
    await expectInvalid(
      "update",
      { id: "slow", patch: { intervalSeconds: 0.0001 } },
      "patch.intervalSeconds",
    );
    expect((await call<{ job: JobView }>("get", { id: "slow" })).job.intervalSeconds).toBe(5);

    expect(await call<QueueResult>("queue", job("fast", every(0.5)), relaxed)).toMatchObject({
      created: true,
    });
    await expectInvalid("queue", job("faster", every(0.05)), "intervalSeconds", relaxed);
  });
});

describe("args nesting at the request edge", () => {
  const deepJson = (levels: number) =>
    `{"id":"deep","name":"deep","type":"mail","args":${'{"a":'.repeat(levels)}1${"}".repeat(levels)}}`;

  it("a JSON job nested 20,000 levels is INVALID_ARGUMENT naming args, not INTERNAL", async () => {
    const before = await snapshot(nc, prefix);
    const r = await raw("queue", new TextEncoder().encode(deepJson(20_000)), "application/json");
    expect(r).toMatchObject({ ok: false, error: { code: "INVALID_ARGUMENT", field: "args" } });
    const shallow = await raw("queue", new TextEncoder().encode(deepJson(40)), "application/json");
    expect(shallow).toMatchObject({ ok: false, error: { code: "INVALID_ARGUMENT", field: "args" } });
    expect(await snapshot(nc, prefix)).toEqual(before);
  });

  it("msgpack too deep to unpack is INVALID_ARGUMENT too", async () => {
    const levels = 20_000;
    const bytes = new Uint8Array(levels * 3 + 1);
    for (let i = 0; i < levels; i++) bytes.set([0x81, 0xa1, 0x61], i * 3);
    bytes[levels * 3] = 1;
    const r = await raw("queue", bytes, "application/msgpack");
    expect(r).toMatchObject({ ok: false, error: { code: "INVALID_ARGUMENT" } });
  });
});

describe("pages within max_payload", () => {
  it("list cuts a page of big jobs before max_payload and every job is reached through nextOffset", async () => {
    const group = "heavy";
    const jobs = Array.from({ length: 40 }, (_, i) => job(`h${i}`, { group, args: pad(60_000) }));
    for (let i = 0; i < jobs.length; i += 10) await call("queueMany", { jobs: jobs.slice(i, i + 10) });
    // and one accepted before the limit existed, 900 KB: the probe's job that made list time out
    const store = await storeOf(nc, prefix);
    const def = {
      ...parseJobInput({ ...job("old-big", { group, args: pad(900_000) }), tenantId: "t1" }),
      id: "old-big",
    };
    await store.create({ def, state: initialState(new Date().toISOString()) });

    for (const encoding of ["msgpack", "json"] as const) {
      const first = await api<ListResult>(
        nc,
        prefix,
        "list",
        { group, limit: 1000 },
        { tenant: "t1", encoding },
      );
      expect(first.total).toBe(41);
      expect(first.jobs.length).toBeGreaterThan(0);
      expect(first.jobs.length).toBeLessThan(20);
      expect(first.nextOffset).toBe(first.jobs.length);
      const seen = first.jobs.map((j) => j.id);
      for (let offset = first.nextOffset; offset !== undefined;) {
        const page: ListResult = await api(
          nc,
          prefix,
          "list",
          { group, limit: 1000, offset },
          { tenant: "t1", encoding },
        );
        seen.push(...page.jobs.map((j) => j.id));
        offset = page.nextOffset;
      }
      expect(seen.sort()).toEqual([...jobs.map((j) => j.id), "old-big"].sort());
    }
  });

  it("logs cuts from the oldest end and pages back with nextOffset", async () => {
    const js = jetstream(nc);
    const ns = namespace(prefix);
    const entry = (i: number): RunLogEntry => ({
      fireId: `t1.lg:${i}`,
      jobId: "lg",
      tenantId: "t1",
      group: "default",
      type: "mail",
      name: "lg",
      attempt: 1,
      nominalTime: iso(i * 1000),
      outcome: "succeeded",
      finishedAt: iso(i * 1000 + 1),
      result: pad(100_000),
    });
    for (let i = 0; i < 30; i++) await js.publish(ns.log("t1", "lg"), encode(entry(i)));
    const first = await call<LogsResult>("logs", { id: "lg", limit: 50 });
    expect(first.entries.length).toBeGreaterThan(0);
    expect(first.entries.length).toBeLessThan(30);
    // the newest entries, oldest first
    expect(first.entries.at(-1)?.fireId).toBe("t1.lg:29");
    const fireIds = first.entries.map((e) => e.fireId);
    for (let offset = first.nextOffset; offset !== undefined;) {
      const page: LogsResult = await call("logs", { id: "lg", limit: 50, offset });
      fireIds.unshift(...page.entries.map((e) => e.fireId));
      offset = page.nextOffset;
    }
    expect(fireIds).toEqual(Array.from({ length: 30 }, (_, i) => `t1.lg:${i}`));
  });
});

describe("a full store", () => {
  it("answers RESOURCE_EXHAUSTED (retryable) and stores nothing half-written", async () => {
    const p = uniqueName("full");
    services.push(await startLeader(testOptions(nc, p, { topology: { memory: false } })));
    const jsm = await jetstreamManager(nc);
    const name = `KV_${namespace(p).buckets.jobs}`;
    await jsm.streams.update(name, { ...(await jsm.streams.info(name)).config, max_bytes: 200_000 });
    let err: TaskjetError | undefined;
    for (let i = 0; i < 40 && !err; i++) {
      err = await call(`queue`, job(`f${i}`, { args: pad(30_000) }), p).then(
        () => undefined,
        (e: unknown) => e as TaskjetError,
      );
    }
    expect(err).toMatchObject({ code: "RESOURCE_EXHAUSTED", retryable: true });
    expect(await call<{ exists: boolean }>("exists", { id: "f39" }, p)).toEqual({ exists: false });
  });
});

describe("remove and bulk rules", () => {
  it("remove refuses a job whose schedule has not ended unless forced; a stopped job goes without", async () => {
    await call("queueMany", { jobs: [job("r1"), job("r2"), job("r3")] });
    const refused = await call<BulkResult>("remove", { id: "r1" });
    expect(refused.results[0]).toMatchObject({
      ok: false,
      error: { code: "FAILED_PRECONDITION", field: "status" },
    });
    expect((await call<{ job: JobView }>("get", { id: "r1" })).job.status).toBe("queuing");
    expect((await call<BulkResult>("remove", { id: "r1", force: true })).results[0]?.ok).toBe(true);
    await call("stop", { id: "r2" });
    expect((await call<BulkResult>("remove", { ids: ["r2"] })).results[0]?.ok).toBe(true);
    expect(await call("exists", { id: "r2" })).toEqual({ exists: false });
    await expectInvalid("pause", { id: "r3", force: true }, "force");
  });

  it("an empty filter is refused, naming filter; all: true says every job", async () => {
    await expectInvalid("pause", { filter: {} }, "filter");
    await expectInvalid("remove", { filter: {}, force: true }, "filter");
    await expectInvalid("pause", { all: false }, "all");
    const p = uniqueName("all");
    services.push(await startLeader(testOptions(nc, p)));
    await call("queueMany", { jobs: [job("a1"), job("a2", { group: "g2" })] }, p);
    const paused = await call<BulkResult>("pause", { all: true }, p);
    expect(paused.results.map((r) => [r.id, r.ok]).sort()).toEqual([
      ["a1", true],
      ["a2", true],
    ]);
  });
});
