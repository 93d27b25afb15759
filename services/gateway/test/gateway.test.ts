import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName, waitFor } from "@taskjet/testing";
import { GatewayService } from "@taskjet/gateway";
import { startStack, type Stack } from "@taskjet/test-stack";

// HTTP bodies are untyped JSON: the assertions check their shape
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const TOKEN = "test-token-0123456789";
const future = () => new Date(Date.now() + 3600_000).toISOString();

describe("REST gateway", () => {
  let stack: Stack;
  let gateway: GatewayService;
  let base: string;

  async function call(method: string, path: string, body?: unknown, token: string | null = TOKEN) {
    const headers: Record<string, string> = {};
    if (token) headers["authorization"] = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(base + path, {
      method,
      headers,
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
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
      register: (w) => w.register("echo", async (ctx) => ctx.args),
    });
    gateway = new GatewayService({
      connection: stack.nc,
      nats: { prefix: stack.prefix },
      port: 0,
      host: "127.0.0.1",
      tokens: [TOKEN],
      env: {},
    });
    const [a, b] = await Promise.all([gateway.start(), gateway.start()]);
    expect(a).toBe(b);
    base = a.url;
  });
  afterAll(async () => {
    await gateway?.stop();
    await gateway?.stop();
    await stack?.stop();
  });

  it("refuses to start without a token unless told it is a dev run", () => {
    expect(() => new GatewayService({ env: {} })).toThrow(/bearer token/);
    try {
      new GatewayService({ env: {} });
    } catch (e) {
      expect(e).toMatchObject({ code: "INVALID_ARGUMENT", field: "tokens" });
    }
    expect(() => new GatewayService({ env: { TASKJET_GATEWAY_INSECURE_DEV: "1" } })).not.toThrow();
    expect(
      () => new GatewayService({ env: { TASKJET_GATEWAY_TOKENS: "abcdefgh12,zyxwvuts98" } }),
    ).not.toThrow();
    expect(() => new GatewayService({ env: {}, tokens: ["short"] })).toThrow(/at least 8/);
    expect(() => new GatewayService({ env: {}, insecureDev: true, port: 70000 })).toThrow(/port/);
  });

  it("a port already in use is a typed error naming the field; the first gateway keeps serving", async () => {
    const taken = Number(new URL(base).port);
    const second = new GatewayService({
      nats: { servers: [stack.nats.url], prefix: stack.prefix },
      port: taken,
      host: "127.0.0.1",
      tokens: [TOKEN],
      env: {},
    });
    await expect(second.start()).rejects.toMatchObject({
      code: "FAILED_PRECONDITION",
      field: "port",
      message: expect.stringContaining(`port ${taken} on 127.0.0.1 is already in use`),
    });
    expect(second.address).toBeUndefined();
    await second.stop(); // its own NATS connection was released with the failed start: nothing to wait for
    expect((await call("GET", "/healthz", undefined, null)).status).toBe(200);
  });

  it("authenticates /v1 with bearer tokens; health, metrics and openapi are open", async () => {
    const none = await call("GET", "/v1/jobs", undefined, null);
    expect(none.status).toBe(401);
    expect(none.body.error).toMatchObject({
      code: "UNAUTHENTICATED",
      field: "Authorization",
      retryable: false,
    });
    expect(none.headers.get("www-authenticate")).toMatch(/Bearer/);
    expect((await call("GET", "/v1/jobs", undefined, "wrong-token-xyz")).status).toBe(401);
    expect((await call("GET", "/healthz", undefined, null)).body).toEqual({ status: "ok" });
    const ready = await call("GET", "/readyz", undefined, null);
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toMatchObject({
      nats: { ok: true },
      store: { ok: true },
      scheduler: { ok: true },
    });
    const doc = await call("GET", "/openapi.json", undefined, null);
    expect(doc.body.openapi).toBe("3.1.0");
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(["/v1/jobs", "/v1/jobs/{id}", "/v1/bulk/{op}"]),
    );
    expect(doc.body.components.schemas.JobInput.properties.cron).toBeDefined();
  });

  it("jobs CRUD: create (name+group unique), get, list with filters and paging, update, delete only stopped", async () => {
    const group = uniqueName("g");
    const created = await call("POST", "/v1/jobs", {
      name: "nightly",
      group,
      type: "echo",
      jobType: "period",
      cron: "0 0 3 * * ?",
      timeZone: "Europe/Berlin",
    });
    expect(created.status).toBe(201);
    const id = created.body.job.id as string;
    expect(created.headers.get("location")).toBe(`/v1/jobs/${id}`);
    expect(created.body.job).toMatchObject({ name: "nightly", group, status: "queuing" });

    const dup = await call("POST", "/v1/jobs", { name: "nightly", group, type: "echo", beginTime: future() });
    expect(dup.status).toBe(409);
    expect(dup.body.error).toMatchObject({ code: "ALREADY_EXISTS", field: "name" });
    const dupId = await call("POST", "/v1/jobs", {
      id,
      name: "other",
      group,
      type: "echo",
      beginTime: future(),
    });
    expect(dupId.status).toBe(409);
    expect(dupId.body.error.code).toBe("ALREADY_EXISTS");
    // same name in another group is fine
    expect(
      (
        await call("POST", "/v1/jobs", {
          name: "nightly",
          group: `${group}-b`,
          type: "echo",
          beginTime: future(),
        })
      ).status,
    ).toBe(201);
    for (const i of [1, 2, 3]) {
      expect(
        (await call("POST", "/v1/jobs", { name: `n${i}`, group, type: "echo", beginTime: future() })).status,
      ).toBe(201);
    }

    expect((await call("GET", `/v1/jobs/${id}`)).body.job.cron).toBe("0 0 3 * * ?");
    const page = await call("GET", `/v1/jobs?group=${group}&limit=2`);
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ total: 4, nextOffset: 2 });
    expect(page.body.jobs).toHaveLength(2);
    expect((await call("GET", `/v1/jobs?group=${group}&limit=2&offset=2`)).body.jobs).toHaveLength(2);
    expect((await call("GET", `/v1/jobs?group=${group}&jobType=period`)).body.total).toBe(1);

    const upd = await call("PATCH", `/v1/jobs/${id}`, { description: "3 am", cron: "0 0 4 * * ?" });
    expect(upd.status).toBe(200);
    expect(upd.body.job).toMatchObject({ description: "3 am", cron: "0 0 4 * * ?" });
    const rename = await call("PATCH", `/v1/jobs/${id}`, { name: "n1" });
    expect(rename.status).toBe(409);
    expect(rename.body.error.code).toBe("ALREADY_EXISTS");

    const del = await call("DELETE", `/v1/jobs/${id}`);
    expect(del.status).toBe(409);
    expect(del.body.error).toMatchObject({ code: "FAILED_PRECONDITION", field: "status" });
    expect((await call("POST", `/v1/jobs/${id}/stop`)).body).toMatchObject({
      id,
      ok: true,
      job: { status: "stopped" },
    });
    expect((await call("DELETE", `/v1/jobs/${id}`)).status).toBe(204);
    const gone = await call("GET", `/v1/jobs/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error).toMatchObject({ code: "NOT_FOUND", retryable: false });
  });

  it("pause/resume/trigger/start/stop per job and in bulk; run logs", async () => {
    const group = uniqueName("g");
    const ids: string[] = [];
    for (const i of [1, 2])
      ids.push(
        (await call("POST", "/v1/jobs", { name: `j${i}`, group, type: "echo", beginTime: future() })).body.job
          .id,
      );
    const [a, b] = ids as [string, string];
    expect((await call("POST", `/v1/jobs/${a}/pause`)).body.job.status).toBe("paused");
    expect((await call("POST", `/v1/jobs/${a}/resume`)).body.job.status).not.toBe("paused");
    const bulkPause = await call("POST", "/v1/bulk/pause", { filter: { group } });
    expect(bulkPause.status).toBe(200);
    expect(bulkPause.body.results).toHaveLength(2);
    expect((await call("GET", `/v1/jobs?group=${group}&status=paused`)).body.total).toBe(2);
    expect((await call("POST", "/v1/bulk/resume", { ids })).body.results.every((r: Json) => r.ok)).toBe(true);
    const notStopped = await call("POST", "/v1/bulk/delete", { ids });
    expect(notStopped.body.results.map((r: Json) => r.error?.code)).toEqual([
      "FAILED_PRECONDITION",
      "FAILED_PRECONDITION",
    ]);
    expect((await call("GET", `/v1/jobs?group=${group}`)).body.total).toBe(2);

    expect((await call("POST", `/v1/jobs/${a}/trigger`)).status).toBe(200);
    const logs = await waitFor(
      async () => {
        const r = await call("GET", `/v1/jobs/${a}/logs?limit=10`);
        return r.body.entries?.find((e: Json) => e.outcome === "succeeded");
      },
      { message: "a succeeded run via REST" },
    );
    expect(logs).toMatchObject({ jobId: a, attempt: 1 });

    // the triggered once job is completed now: it cannot be stopped, the other one can
    const stopAll = await call("POST", "/v1/bulk/stop", { ids });
    const byId = (id: string) => stopAll.body.results.find((r: Json) => r.id === id);
    expect(byId(a)).toMatchObject({ ok: false, error: { code: "FAILED_PRECONDITION" } });
    expect(byId(b)).toMatchObject({ ok: true });
    expect((await call("GET", `/v1/jobs/${a}`)).body.job.status).toBe("completed");
    expect((await call("POST", `/v1/jobs/${b}/start`)).body.job.status).not.toBe("stopped");
    expect((await call("POST", `/v1/jobs/${b}/stop`)).body.job.status).toBe("stopped");
    // completed and stopped jobs may be deleted
    const bulkDelete = await call("POST", "/v1/bulk/delete", { filter: { group } });
    expect(bulkDelete.body.results.every((r: Json) => r.ok)).toBe(true);
    expect((await call("GET", `/v1/jobs?group=${group}`)).body.total).toBe(0);
  });

  it("job actions: add, list, replace, delete", async () => {
    // a publish action may target the gateway tenant's own event namespace
    const evt = `${stack.prefix}.evt.default`;
    const id = (
      await call("POST", "/v1/jobs", { name: uniqueName("act"), type: "echo", beginTime: future() })
    ).body.job.id;
    const add = await call("POST", `/v1/jobs/${id}/actions`, {
      kind: "webhook",
      on: ["failed"],
      url: "http://127.0.0.1:9/hook",
    });
    expect(add.status).toBe(201);
    const actionId = add.body.action.id as string;
    expect(actionId).toMatch(/^act-/);
    const add2 = await call("POST", `/v1/jobs/${id}/actions`, {
      id: "notify",
      kind: "publish",
      on: ["succeeded"],
      subject: `${evt}.app.done`,
    });
    expect(add2.status).toBe(201);
    expect(
      (
        await call("POST", `/v1/jobs/${id}/actions`, {
          id: "notify",
          kind: "publish",
          on: ["failed"],
          subject: "x",
        })
      ).status,
    ).toBe(409);
    expect((await call("GET", `/v1/jobs/${id}/actions`)).body.actions.map((a: Json) => a.id)).toEqual([
      actionId,
      "notify",
    ]);
    const put = await call("PUT", `/v1/jobs/${id}/actions/notify`, {
      kind: "publish",
      on: ["completed"],
      subject: `${evt}.app.done2`,
    });
    expect(put.status).toBe(200);
    expect(put.body.action).toEqual({
      id: "notify",
      kind: "publish",
      on: ["completed"],
      subject: `${evt}.app.done2`,
    });
    expect(
      (await call("PUT", `/v1/jobs/${id}/actions/nope`, { kind: "publish", on: ["completed"], subject: "a" }))
        .status,
    ).toBe(404);
    expect((await call("DELETE", `/v1/jobs/${id}/actions/${actionId}`)).status).toBe(204);
    expect((await call("DELETE", `/v1/jobs/${id}/actions/${actionId}`)).status).toBe(404);
    expect((await call("GET", `/v1/jobs/${id}`)).body.job.actions.map((a: Json) => a.id)).toEqual(["notify"]);
  });

  it("job types from the registry; status with consumer lag", async () => {
    const types = await waitFor(
      async () => {
        const r = await call("GET", "/v1/job-types");
        return r.body.types?.some((t: Json) => t.type === "echo") ? r.body.types : undefined;
      },
      { message: "echo type registered" },
    );
    expect(types.find((t: Json) => t.type === "echo").nodes).toContain("n1");
    const st = await call("GET", "/v1/status");
    expect(st.body.scheduler.leader.epoch).toBeGreaterThan(0);
    expect(Array.isArray(st.body.consumers)).toBe(true);
  });

  it("bad input: 400 INVALID_ARGUMENT with the field, and the store is unchanged", async () => {
    await call("POST", "/v1/jobs", { name: uniqueName("keep"), type: "echo", beginTime: future() });
    const keepId = (await call("GET", "/v1/jobs?limit=1")).body.jobs[0].id as string;
    const before = await stack.snapshot();
    const cases: [string, string, unknown, string][] = [
      ["POST", "/v1/jobs", { name: "x", type: "echo", jobType: "period" }, "cron"],
      ["POST", "/v1/jobs", { name: "x", type: "echo", jobType: "period", cron: "61 * * * * ?" }, "cron"],
      ["POST", "/v1/jobs", { name: "x", type: "echo", unknownField: 1 }, "(root)"],
      ["POST", "/v1/jobs", { name: "x", type: "echo", tenantId: "other" }, "tenantId"],
      ["PATCH", `/v1/jobs/${keepId}`, { priority: "urgent" }, "priority"],
      ["PATCH", `/v1/jobs/${keepId}`, { group: "moved" }, "(root)"],
      ["POST", "/v1/bulk/pause", {}, "ids"],
      ["POST", "/v1/bulk/explode", { ids: ["a"] }, "op"],
      ["POST", `/v1/jobs/${keepId}/actions`, { kind: "webhook", on: [], url: "ftp://x" }, "on"],
      // a publish action reaches only the tenant's own event namespace (issue 13)
      ...[
        `$KV.${stack.prefix}-jobs.other.default.victim`,
        `$KV.${stack.prefix}-lease.scheduler`,
        `${stack.prefix}.evt.other.x`,
        `${stack.prefix}.api.other.remove`,
      ].flatMap((subject): [string, string, unknown, string][] => {
        const publish = { kind: "publish", on: ["completed"], subject };
        return [
          ["POST", "/v1/jobs", { name: "x", type: "echo", actions: [publish] }, "actions.0.subject"],
          ["PATCH", `/v1/jobs/${keepId}`, { actions: [publish] }, "actions.0.subject"],
          ["POST", `/v1/jobs/${keepId}/actions`, publish, "subject"],
        ];
      }),
      ["GET", "/v1/jobs?limit=5000", undefined, "limit"],
      ["GET", "/v1/jobs?status=sleeping", undefined, "status"],
      ["GET", "/v1/jobs?colour=red", undefined, "(root)"],
      ["GET", `/v1/jobs/${keepId}/logs?limit=0`, undefined, "limit"],
      ["GET", "/v1/jobs/bad%20id", undefined, "id"],
    ];
    for (const [method, path, body, field] of cases) {
      const r = await call(method, path, body);
      expect(r.status, `${method} ${path}`).toBe(400);
      expect(r.body.error.code, `${method} ${path}`).toBe("INVALID_ARGUMENT");
      expect(r.body.error.field, `${method} ${path}`).toBe(field);
      expect(r.body.error.retryable).toBe(false);
    }
    const notJson = await call("POST", "/v1/jobs", "{not json");
    expect(notJson.status).toBe(400);
    expect(notJson.body.error).toMatchObject({ code: "DECODE_ERROR", field: "(body)" });
    const noBody = await call("POST", "/v1/jobs");
    expect(noBody.status).toBe(400);
    expect(noBody.body.error.code).toBe("INVALID_ARGUMENT");
    const missing = await call("GET", "/v1/nothing-here");
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("NOT_FOUND");
    expect(await stack.snapshot()).toEqual(before);
  });

  it("/metrics: request metrics and job-level gauges", async () => {
    await call("GET", "/v1/jobs");
    const r = await fetch(`${base}/metrics`);
    const text = await r.text();
    expect(r.headers.get("content-type")).toMatch(/text\/plain/);
    expect(text).toMatch(
      /taskjet_gateway_http_requests_total\{method="GET",route="\/v1\/jobs",status="200"\} \d+/,
    );
    expect(text).toMatch(/taskjet_gateway_http_request_duration_seconds_bucket/);
    expect(text).toMatch(/taskjet_jobs\{status="queuing"\} \d+/);
    expect(text).toMatch(/taskjet_scheduler_leader 1/);
    expect(text).toMatch(/taskjet_scheduler_epoch \d+/);
    expect(text).toMatch(/taskjet_workers\{node="n1"\} 1/);
    expect(text).toMatch(/taskjet_consumer_pending\{consumer="[^"]+"\} \d+/);
  });

  it("when no scheduler answers: 503 UNAVAILABLE, readyz 503", async () => {
    const lonely = new GatewayService({
      connection: stack.nc,
      nats: { prefix: uniqueName("none") },
      port: 0,
      host: "127.0.0.1",
      insecureDev: true,
      env: {},
      requestTimeoutMs: 2000,
    });
    const { url } = await lonely.start();
    try {
      const r = await fetch(`${url}/v1/jobs`);
      expect(r.status).toBe(503);
      expect(((await r.json()) as Json).error).toMatchObject({ code: "UNAVAILABLE", retryable: true });
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as Json;
      expect(body.checks.nats.ok).toBe(true);
      expect(body.checks.store.ok).toBe(false);
    } finally {
      await lonely.stop();
    }
    expect(stack.nc.isClosed()).toBe(false);
  });

  it("readyz follows the NATS connection: 503 while the server is down, ready again after it returns", async () => {
    await stack.nats.kill();
    await waitFor(
      async () => {
        const r = await fetch(`${base}/readyz`);
        return r.status === 503 && ((await r.json()) as Json).checks.nats.ok === false;
      },
      { timeoutMs: 15_000, message: "readyz 503 with NATS down" },
    );
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    await stack.nats.restart();
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, {
      timeoutMs: 30_000,
      message: "ready again",
    });
  });
});
