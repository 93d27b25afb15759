import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startNats, uniqueName, waitFor, type NatsServerFixture } from "@taskjet/testing";
import type { ActionPayload, WorkerOptions } from "@taskjet/worker-runtime";
import { TestEnv } from "./helpers.js";

interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
  body: ActionPayload;
}

let server: NatsServerFixture;
let env: TestEnv;
let http: Server;
let base: string;
const hits: Hit[] = [];
beforeAll(async () => {
  server = await startNats();
  env = await new TestEnv(server).init();
  http = createServer((req, res) => {
    let data = "";
    req.on("data", (c: Buffer) => (data += c.toString()));
    req.on("end", () => {
      hits.push({ path: req.url ?? "", headers: req.headers, body: JSON.parse(data) as ActionPayload });
      res.statusCode = req.url === "/broken" ? 500 : 204;
      res.end();
    });
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterEach(() => env.stopWorkers());

/** A worker whose operator allowed the loopback test server (webhooks refuse it by default). */
const loopbackWorker = (opts: WorkerOptions) => env.worker({ httpAllow: ["127.0.0.1"], ...opts });
afterAll(async () => {
  await env?.close();
  await new Promise((r) => http?.close(r));
  await server?.stop();
});

describe("job actions", () => {
  it("webhook and publish actions run on succeeded/completed with the after event; a custom kind plugs in", async () => {
    const w = loopbackWorker({ node: "aa" });
    w.register("acted", async () => ({ ok: true }));
    const custom: ActionPayload[] = [];
    w.registerAction("collect", async (action, payload) => {
      expect(action["kind"]).toBe("collect");
      custom.push(payload);
    });
    await w.start();
    const subject = `${env.ns.prefix}.evt.default.${uniqueName("actions")}.done`;
    const published: ActionPayload[] = [];
    const sub = env.nc.subscribe(subject, {
      callback: (_e, m) => void published.push(m.json<ActionPayload>()),
    });
    await env.nc.flush();
    const def = await env.job({
      type: "acted",
      actions: [
        {
          id: "hook",
          kind: "webhook",
          on: ["succeeded"],
          url: `${base}/hook`,
          headers: { "x-token": "s3cret" },
        },
        { kind: "publish", on: ["completed"], subject },
        { kind: "webhook", on: ["failed"], url: `${base}/never` },
      ],
    });
    // a pluggable kind is not in the protocol's action schema: add it to the stored definition directly
    await env.store.mutate(env.ns.jobKey(def), (j) => ({
      def: { ...j.def, actions: [...j.def.actions, { kind: "collect", on: ["succeeded"] } as never] },
      state: j.state,
    }));
    const done = [
      w.events.next("action:done", (e) => e.kind === "webhook"),
      w.events.next("action:done", (e) => e.kind === "publish"),
      w.events.next("action:done", (e) => e.kind === "collect"),
    ];
    await env.fire(def);
    await Promise.all(done);
    await waitFor(() => published.length === 1, { message: "publish action" });
    sub.unsubscribe();

    expect(hits.filter((h) => h.path === "/never")).toEqual([]);
    const hook = hits.find((h) => h.path === "/hook")!;
    expect(hook.headers["x-token"]).toBe("s3cret");
    expect(hook.headers["content-type"]).toBe("application/json");
    expect(hook.body).toMatchObject({
      trigger: "succeeded",
      actionId: "hook",
      event: { phase: "after", status: "completed", result: { ok: true }, key: env.ns.jobKey(def) },
    });
    expect(published[0]).toMatchObject({ trigger: "completed", event: { fireId: expect.any(String) } });
    expect(custom[0]).toMatchObject({ trigger: "succeeded" });
  });

  it("a failing action is logged and reported, never failing the job; failed actions run on failure", async () => {
    const w = loopbackWorker({ node: "ab" });
    let fail = false;
    w.register("half", async () => {
      if (fail) throw new Error("handler failed");
      return "fine";
    });
    await w.start();
    const def = await env.job({
      type: "half",
      jobType: "persistent",
      intervalSeconds: 60,
      actions: [
        { kind: "webhook", on: ["succeeded"], url: `${base}/broken` },
        { kind: "webhook", on: ["failed"], url: `${base}/failed` },
      ],
    });
    const actionError = w.events.next("action:error", (e) => e.fireId.includes(def.id));
    await env.fire(def, { last: false });
    expect((await actionError).error).toMatch(/answered 500/);
    const job = await env.waitRecord(def, (j) => j.state.result === "fine", "first run stored");
    expect(job.state).toMatchObject({ status: "queuing", result: "fine", tryCount: 0 });

    fail = true;
    const failedHook = w.events.next("action:done", (e) => e.trigger === "failed");
    await env.fire(def, { nominalTime: new Date(Date.now() + 60_000), last: false });
    await failedHook;
    const hit = hits.find((h) => h.path === "/failed")!;
    expect(hit.body).toMatchObject({
      trigger: "failed",
      event: { error: "handler failed", status: "queuing" },
    });
  });

  it("a webhook to a loopback address is refused unless the operator allowed it (the server sees nothing)", async () => {
    const w = env.worker({ node: "ac" });
    w.register("hooked", async () => "ok");
    await w.start();
    const def = await env.job({
      type: "hooked",
      actions: [{ kind: "webhook", on: ["succeeded"], url: `${base}/refused` }],
    });
    const actionError = w.events.next("action:error", (e) => e.fireId.includes(def.id));
    await env.fire(def);
    expect((await actionError).error).toBe(
      `http destination refused: ${base}/refused: 127.0.0.1 is a loopback address, refused unless the operator allows it (httpAllow / TASKJET_HTTP_ALLOW)`,
    );
    // the run itself is not affected
    await env.waitRecord(def, (j) => j.state.status === "completed", "run completed");
    expect(hits.filter((h) => h.path === "/refused")).toEqual([]);
  });

  it("a publish action outside the tenant's event namespace is refused at run time, even when stored", async () => {
    const w = env.worker({ node: "ad", actionSubjectAllow: ["partner.*.done"] });
    w.register("pub", async () => "ok");
    await w.start();
    // another tenant's job, which a refused action aimed at its KV key would overwrite
    const victim = await env.job({ type: "pub", tenantId: "t2", id: uniqueName("victim") });
    const victimKey = env.ns.jobKey(victim);
    const victimRev = (await env.store.get(victimKey))!.revision;
    const refused = [
      `$KV.${env.ns.buckets.jobs}.${victimKey}`,
      `$KV.${env.ns.buckets.lease}.scheduler`,
      `${env.ns.prefix}.evt.t2.action.done`,
      env.ns.api("t2", "remove"),
      "app.done",
    ];
    const own = `${env.ns.prefix}.evt.default.action.${uniqueName("own")}`;
    const partner = `partner.${uniqueName("p")}.done`;
    const got: string[] = [];
    const subs = [...refused, own, partner].map((subject) =>
      env.nc.subscribe(subject, { callback: (_e, m) => void got.push(m.subject) }),
    );
    await env.nc.flush();
    // stored as another tool could write it: the scheduler's queue-time check is not on this path
    const def = await env.job({
      type: "pub",
      actions: [...refused, own, partner].map((subject) => ({ kind: "publish", on: ["succeeded"], subject })),
    });
    const errors: string[] = [];
    w.events.on("action:error", (e) => {
      if (e.fireId.includes(def.id)) errors.push(e.error);
    });
    const done = w.events.next("action:done", (e) => e.fireId.includes(def.id));
    await env.fire(def);
    await done;
    await waitFor(() => errors.length === refused.length && got.length === 2, {
      message: "refused and delivered actions",
    });
    for (const s of subs) s.unsubscribe();
    expect(got.sort()).toEqual([own, partner].sort());
    expect(errors.every((e) => e.startsWith("publish refused: "))).toBe(true);
    expect(errors.join("\n")).toMatch(/reserved subject/);
    expect(errors.join("\n")).toMatch(/another tenant's event namespace/);
    expect((await env.store.get(victimKey))!.revision).toBe(victimRev);
  });
});
