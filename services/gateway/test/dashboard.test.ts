/**
 * The gateway's dashboard routes against a real stack: read-only tokens (403 PERMISSION_DENIED on every
 * change), the session, the app's open assets, cron previews with DST shifts, dead letters (list, get,
 * requeue, discard, tenant-sealed), and server-sent events.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName, waitFor } from "@taskjet/testing";
import { GatewayService } from "@taskjet/gateway";
import { startStack, type Stack } from "@taskjet/test-stack";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const FULL = "full-token-0123456789";
const READ = "read-token-0123456789";

describe("gateway dashboard routes", () => {
  let stack: Stack;
  let gateway: GatewayService;
  let base: string;

  async function call(method: string, path: string, body?: unknown, token: string | null = FULL) {
    const headers: Record<string, string> = {};
    if (token) headers["authorization"] = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(base + path, {
      method,
      headers,
      redirect: "manual",
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json: Json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    return { status: res.status, body: json, headers: res.headers };
  }

  beforeAll(async () => {
    stack = await startStack({
      worker: true,
      node: "n1",
      register: (w) => {
        w.register("echo", async (ctx) => ctx.args);
        w.register("boom", async () => {
          throw new Error("boom on purpose");
        });
      },
    });
    gateway = new GatewayService({
      connection: stack.nc,
      nats: { prefix: stack.prefix },
      port: 0,
      host: "127.0.0.1",
      tokens: [FULL],
      readOnlyTokens: [READ],
      dashboardSampleSeconds: 1,
      env: {},
    });
    base = (await gateway.start()).url;
  });
  afterAll(async () => {
    await gateway?.stop();
    await stack?.stop();
  });

  it("validates read-only tokens with the other settings", () => {
    const both = () => new GatewayService({ env: {}, tokens: [FULL], readOnlyTokens: [FULL] });
    expect(both).toThrow(/one role/);
    try {
      both();
    } catch (e) {
      expect(e).toMatchObject({ code: "INVALID_ARGUMENT", field: "readOnlyTokens" });
    }
    expect(() => new GatewayService({ env: {}, tokens: [FULL], readOnlyTokens: ["short"] })).toThrow(
      /at least 8/,
    );
    const fromEnv = new GatewayService({
      env: { TASKJET_GATEWAY_TOKENS: FULL, TASKJET_GATEWAY_READONLY_TOKENS: `${READ}, other-read-token` },
    });
    expect(fromEnv.config.readOnlyTokens).toEqual([READ, "other-read-token"]);
    expect(
      () => new GatewayService({ env: { TASKJET_GATEWAY_SAMPLE_SECONDS: "0" }, tokens: [FULL] }),
    ).toThrow(/dashboardSampleSeconds/);
  });

  it("a read-only token reads everything and changes nothing: 403 PERMISSION_DENIED before the route runs", async () => {
    const id = uniqueName("ro");
    const created = await call("POST", "/v1/jobs", {
      id,
      name: id,
      type: "echo",
      jobType: "period",
      cron: "0 0 * * * ?",
    });
    expect(created.status).toBe(201);
    const before = await stack.snapshot();

    expect((await call("GET", "/v1/dashboard/session", undefined, READ)).body).toEqual({
      role: "read",
      tenant: "default",
    });
    expect((await call("GET", "/v1/dashboard/session")).body.role).toBe("full");
    expect((await call("GET", `/v1/jobs/${id}`, undefined, READ)).status).toBe(200);
    expect((await call("GET", "/v1/jobs?limit=5", undefined, READ)).status).toBe(200);
    expect((await call("GET", "/v1/dashboard/overview", undefined, READ)).status).toBe(200);

    const attempts: [string, string, unknown?][] = [
      ["POST", "/v1/jobs", { name: uniqueName("x"), type: "echo" }],
      ["POST", `/v1/jobs/${id}/pause`],
      ["POST", `/v1/jobs/${id}/trigger`],
      ["PATCH", `/v1/jobs/${id}`, { name: "renamed" }],
      ["DELETE", `/v1/jobs/${id}?force=true`],
      ["POST", "/v1/bulk/stop", { ids: [id] }],
      ["POST", `/v1/jobs/${id}/actions`, { on: "success", kind: "trigger", jobId: id }],
      ["POST", "/v1/dead-letters/1/requeue"],
      ["DELETE", "/v1/dead-letters/1"],
    ];
    for (const [method, path, body] of attempts) {
      const r = await call(method, path, body, READ);
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.body.error).toMatchObject({
        code: "PERMISSION_DENIED",
        field: "Authorization",
        retryable: false,
      });
    }
    expect(await stack.snapshot()).toEqual(before);
    // a wrong token is still 401, not 403
    expect((await call("POST", `/v1/jobs/${id}/pause`, undefined, "not-a-token-at-all")).status).toBe(401);
  });

  it("serves the app without authentication and redirects / to it", async () => {
    const root = await call("GET", "/", undefined, null);
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/dashboard/");
    const page = await call("GET", "/dashboard/", undefined, null);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(String(page.body))?.[1];
    expect(script, "the page names its script").toBeDefined();
    const js = await fetch(`${base}/dashboard/${script}`);
    expect(js.status).toBe(200);
    expect(js.headers.get("cache-control")).toMatch(/immutable/);
    expect((await call("GET", "/dashboard/config.json", undefined, null)).body).toEqual({
      authRequired: true,
    });
    const doc = (await call("GET", "/openapi.json", undefined, null)).body;
    expect(doc.paths["/v1/dead-letters/{seq}/requeue"].post.responses["403"]).toBeDefined();
    expect(doc.paths["/v1/jobs/{id}/pause"].post.responses["403"]).toBeDefined();
    expect(doc.paths["/v1/jobs"].get.responses["403"]).toBeUndefined();
    // the API behind it is not open
    expect((await call("GET", "/v1/dashboard/session", undefined, null)).status).toBe(401);
  });

  it("previews cron fire times with the protocol's engine and marks DST shifts", async () => {
    const r = await call(
      "GET",
      `/v1/cron/next?${new URLSearchParams({ cron: "0 30 2 * * ?", timeZone: "Europe/Berlin", count: "400" })}`,
    );
    expect(r.status).toBe(400);
    expect(r.body.error.field).toBe("count");
    const ok = await call(
      "GET",
      `/v1/cron/next?${new URLSearchParams({ cron: "0 0 12 ? * SUN", timeZone: "Europe/Berlin", count: "50" })}`,
    );
    expect(ok.status).toBe(200);
    expect(ok.body.times).toHaveLength(50);
    // in any 50 weeks Berlin changes its offset at least once
    expect(ok.body.times.some((t: Json) => t.dstShift)).toBe(true);
    const bad = await call("GET", `/v1/cron/next?cron=${encodeURIComponent("61 * * * * ?")}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: "INVALID_ARGUMENT", field: "cron" });
  });

  it("lists, inspects, requeues and discards dead letters of its tenant", async () => {
    const id = uniqueName("dl");
    expect((await call("POST", "/v1/jobs", { id, name: id, type: "boom", maxTryCount: 1 })).status).toBe(201);
    let letters: Json[] = [];
    await waitFor(
      async () => {
        letters = (await call("GET", "/v1/dead-letters?limit=200")).body.letters.filter(
          (l: Json) => l.jobId === id,
        );
        return letters.length === 1;
      },
      { timeoutMs: 20_000, message: `a dead letter of ${id}` },
    );
    const seq = letters[0].seq;
    expect(letters[0].letter).toMatchObject({ reason: "abandoned", error: expect.stringContaining("boom") });
    expect((await call("GET", `/v1/dead-letters/${seq}`, undefined, READ)).body.deadLetter.jobId).toBe(id);
    const overview = await call("GET", "/v1/dashboard/overview");
    expect(overview.body.deadLetters).toBeGreaterThanOrEqual(1);

    // another tenant's gateway does not see it
    const other = new GatewayService({
      connection: stack.nc,
      nats: { prefix: stack.prefix },
      port: 0,
      host: "127.0.0.1",
      tenant: "other",
      insecureDev: true,
      env: {},
    });
    const otherUrl = (await other.start()).url;
    try {
      const r = await fetch(`${otherUrl}/v1/dead-letters/${seq}`);
      expect(r.status).toBe(404);
      const del = await fetch(`${otherUrl}/v1/dead-letters/${seq}`, { method: "DELETE" });
      expect(del.status).toBe(404);
    } finally {
      await other.stop();
    }

    // requeue: the abandoned (stopped) job is started again, so it runs once more (and dead-letters
    // again: a new letter); the old letter is gone
    const rq = await call("POST", `/v1/dead-letters/${seq}/requeue`);
    expect(rq.status).toBe(200);
    expect((await call("GET", `/v1/dead-letters/${seq}`)).status).toBe(404);
    await waitFor(
      async () => {
        const all = (await call("GET", "/v1/dead-letters?limit=200")).body.letters.filter(
          (l: Json) => l.jobId === id,
        );
        return all.length === 1 && all[0].seq !== seq;
      },
      {
        timeoutMs: 20_000,
        message: "the requeued fire's own dead letter",
      },
    );
    const runs = (await stack.client.scheduler.logs(id)).filter((e) => e.outcome === "deadLettered");
    expect(runs.length).toBe(2);
    const again = (await call("GET", "/v1/dead-letters?limit=200")).body.letters.find(
      (l: Json) => l.jobId === id,
    );
    expect((await call("DELETE", `/v1/dead-letters/${again.seq}`)).status).toBe(204);
    expect((await call("GET", `/v1/dead-letters/${again.seq}`)).status).toBe(404);
    expect((await call("DELETE", `/v1/dead-letters/${again.seq}`)).status).toBe(404);

    // a letter whose job was removed cannot be requeued: discard it instead
    await stack.client.scheduler.start(id);
    let last: Json;
    await waitFor(
      async () => {
        last = (await call("GET", "/v1/dead-letters?limit=200")).body.letters.find(
          (l: Json) => l.jobId === id,
        );
        return last !== undefined;
      },
      { timeoutMs: 20_000, message: "one more dead letter" },
    );
    await stack.client.scheduler.remove(id, { force: true });
    const gone = await call("POST", `/v1/dead-letters/${last.seq}/requeue`);
    expect(gone.status).toBe(409);
    expect(gone.body.error.code).toBe("FAILED_PRECONDITION");
  });

  it("streams the tenant's job events as server-sent events, filtered by job", async () => {
    const id = uniqueName("sse");
    const ctrl = new AbortController();
    const res = await fetch(`${base}/v1/events/stream?jobId=${id}&phases=after`, {
      headers: { authorization: `Bearer ${READ}` },
      signal: ctrl.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const first = await reader.read();
    text += first.value ?? "";
    expect(text).toContain(": subscribed");
    await stack.client.scheduler.queue({ id, name: id, type: "echo", args: { n: 1 } });
    await waitFor(
      async () => {
        const { value } = await reader.read();
        text += value ?? "";
        return text.includes("event: job");
      },
      { timeoutMs: 10_000, message: "an after event on the stream" },
    );
    const data = JSON.parse(/data: (.*)\n/.exec(text)![1]!);
    expect(data).toMatchObject({ jobId: id, phase: "after" });
    ctrl.abort();
    const bad = await call("GET", "/v1/events/stream?phases=sideways");
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe("phases.0");
  });

  it("samples rates and lateness into the overview's last hour", async () => {
    await waitFor(
      async () => {
        const o = (await call("GET", "/v1/dashboard/overview")).body;
        return o.samples.some((s: Json) => s.runsPerSecond > 0 && s.latenessP50Ms !== null);
      },
      { timeoutMs: 15_000, message: "a sample with runs in it" },
    );
    const o = (await call("GET", "/v1/dashboard/overview")).body;
    expect(o.sampleSeconds).toBe(1);
    expect(o.status.leader).toBeDefined();
    expect(o.samples.length).toBeLessThanOrEqual(3600);
  });
});
