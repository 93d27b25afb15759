/**
 * Limits at the REST edge: an oversized body is 413, a body nested past the encoders' reach is 400 naming
 * the field, DELETE and bulk delete follow the control API's remove rule (force for a live job), bulk with
 * an empty filter needs all: true, and a full job store is 507 RESOURCE_EXHAUSTED (retryable).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jetstreamManager } from "@nats-io/jetstream";
import { uniqueName } from "@taskjet/testing";
import { GatewayService } from "@taskjet/gateway";
import { namespace } from "@taskjet/protocol";
import { startStack, type Stack } from "@taskjet/test-stack";

// HTTP bodies are untyped JSON: the assertions check their shape
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const TOKEN = "test-token-0123456789";
const future = () => new Date(Date.now() + 3600_000).toISOString();

describe("REST limits", () => {
  let stack: Stack;
  let gateway: GatewayService;
  let base: string;

  async function call(method: string, path: string, body?: unknown) {
    const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(base + path, {
      method,
      headers,
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as Json };
  }

  const create = async (group: string, name = uniqueName("j")) =>
    (await call("POST", "/v1/jobs", { name, group, type: "echo", beginTime: future() })).body.job
      .id as string;

  beforeAll(async () => {
    stack = await startStack();
    gateway = new GatewayService({
      connection: stack.nc,
      nats: { prefix: stack.prefix },
      port: 0,
      host: "127.0.0.1",
      tokens: [TOKEN],
      env: {},
    });
    base = (await gateway.start()).url;
  });
  afterAll(async () => {
    await gateway?.stop();
    await stack?.stop();
  });

  it("a 50 MB body is 413 with a typed error naming the body", async () => {
    const r = await call("POST", "/v1/jobs", { name: "big", type: "echo", args: { pad: "x".repeat(50e6) } });
    expect(r.status).toBe(413);
    expect(r.body.error).toMatchObject({ code: "INVALID_ARGUMENT", field: "(body)", retryable: false });
    expect(r.body.error.message).toMatch(/larger than the gateway's limit of 1048576 bytes/);
  });

  it("a body nested 20,000 levels is 400 naming args; args 33 levels deep too", async () => {
    const deep = `{"name":"deep","type":"echo","args":${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}}`;
    const r = await call("POST", "/v1/jobs", deep);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: "INVALID_ARGUMENT", field: "args" });
    const args33 = JSON.parse(`${'{"a":'.repeat(33)}1${"}".repeat(33)}`) as unknown;
    const r33 = await call("POST", "/v1/jobs", { name: "deep33", type: "echo", args: args33 });
    expect(r33.status).toBe(400);
    expect(r33.body.error).toMatchObject({ code: "INVALID_ARGUMENT", field: "args" });
  });

  it("DELETE of a live job is 409 naming status unless ?force=true; a stopped one goes without", async () => {
    const group = uniqueName("g");
    const [a, b] = [await create(group), await create(group)];
    const refused = await call("DELETE", `/v1/jobs/${a}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: "FAILED_PRECONDITION", field: "status" });
    expect((await call("DELETE", `/v1/jobs/${a}?force=true`)).status).toBe(204);
    expect((await call("GET", `/v1/jobs/${a}`)).status).toBe(404);
    await call("POST", `/v1/jobs/${b}/stop`);
    expect((await call("DELETE", `/v1/jobs/${b}`)).status).toBe(204);
    expect((await call("DELETE", `/v1/jobs/${b}?force=maybe`)).status).toBe(400);
  });

  it("bulk: an empty filter is 400 naming filter; all: true acts on every job; delete takes force", async () => {
    const group = uniqueName("g");
    const ids = [await create(group), await create(group)];
    for (const op of ["pause", "delete"]) {
      const r = await call("POST", `/v1/bulk/${op}`, { filter: {} });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: "INVALID_ARGUMENT", field: "filter" });
    }
    expect((await call("POST", "/v1/bulk/pause", { ids, force: true })).body.error).toMatchObject({
      field: "force",
    });
    const all = await call("POST", "/v1/bulk/pause", { all: true });
    expect(all.status).toBe(200);
    expect(all.body.results.map((r: Json) => r.id)).toEqual(expect.arrayContaining(ids));
    const refused = await call("POST", "/v1/bulk/delete", { filter: { group } });
    expect(refused.body.results.map((r: Json) => r.error?.code)).toEqual([
      "FAILED_PRECONDITION",
      "FAILED_PRECONDITION",
    ]);
    const forced = await call("POST", "/v1/bulk/delete", { filter: { group }, force: true });
    expect(forced.body.results.every((r: Json) => r.ok)).toBe(true);
    expect((await call("GET", `/v1/jobs?group=${group}`)).body.total).toBe(0);
  });

  /**
   * Shrinks `stream` to 100 kB, POSTs jobs of 30 kB built by `job` until one is refused, and expects that
   * refusal to be 507 RESOURCE_EXHAUSTED, retryable; the stream's limits are put back after.
   */
  async function fullStreamRefuses(stream: string, job: () => Json): Promise<void> {
    const jsm = await jetstreamManager(stack.nc);
    const config = (await jsm.streams.info(stream)).config;
    await jsm.streams.update(stream, { ...config, max_bytes: 100_000 });
    try {
      let r: { status: number; body: Json } | undefined;
      for (let i = 0; i < 20; i++) {
        r = await call("POST", "/v1/jobs", { ...job(), args: { pad: "x".repeat(30_000) } });
        if (r.status !== 201) break;
      }
      expect(r?.status).toBe(507);
      expect(r?.body.error).toMatchObject({ code: "RESOURCE_EXHAUSTED", retryable: true });
    } finally {
      await jsm.streams.update(stream, config);
    }
  }

  it("a full job store is 507 RESOURCE_EXHAUSTED, retryable", async () => {
    // a delayed job goes through the scheduler and its store (an immediate one to the run stream)
    await fullStreamRefuses(`KV_${namespace(stack.prefix).buckets.jobs}`, () => ({
      name: uniqueName("f"),
      type: "echo",
      delayMs: 3_600_000,
    }));
  });

  it("a full run stream is 507 RESOURCE_EXHAUSTED for an immediate once job (the fast lane), retryable", async () => {
    // no worker serves this type: the jobs stay in the stream until it is full
    await fullStreamRefuses(namespace(stack.prefix).streams.run, () => ({
      name: uniqueName("f"),
      type: uniqueName("nobody"),
    }));
  });
});
