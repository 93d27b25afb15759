import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { decode } from "@taskjet/protocol";
import type { JobTypeInfo } from "@taskjet/nats";
import { startNats, waitFor, type NatsServerFixture } from "@taskjet/testing";
import { configFrom, specifierOf, WorkerService, type WorkerServiceOptions } from "@taskjet/worker";
import { capturingLogger, ServiceTestEnv } from "./helpers.js";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

let server: NatsServerFixture;
let env: ServiceTestEnv;
let http: Server;
let base: string;
const requests: { method: string; url: string; headers: Record<string, unknown>; body: string }[] = [];
const services: WorkerService[] = [];
beforeAll(async () => {
  server = await startNats();
  env = await new ServiceTestEnv(server).init();
  http = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      if (req.url === "/json") {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ got: body ? (JSON.parse(body) as unknown) : null }));
      } else if (req.url === "/missing") {
        res.statusCode = 404;
        res.end("no such thing");
      } else if (req.url === "/busy") {
        res.statusCode = 429;
        res.setHeader("retry-after", "30");
        res.end("slow down");
      } else {
        res.end("plain text");
      }
    });
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.stop()));
});
afterAll(async () => {
  await env?.close();
  await new Promise((r) => http?.close(r));
  await server?.stop();
});

function service(opts: WorkerServiceOptions = {}): WorkerService {
  const s = new WorkerService({
    nats: { servers: [server.url], prefix: env.ns.prefix },
    logger: capturingLogger().logger,
    idlePollMs: 1000,
    ...opts,
  });
  services.push(s);
  return s;
}

describe("built-in job types", () => {
  it("http: sends method, headers and JSON data; a JSON body is the result; non-2xx fails; 429 + Retry-After retries later", async () => {
    // the test server is on loopback, which the http job refuses unless the operator allows it
    const s = service({ node: "h1", httpAllow: ["127.0.0.1"] });
    await s.start();
    const post = await env.job({
      type: "http",
      args: { url: `${base}/json`, method: "post", headers: { "x-k": "v" }, data: { a: 1 } },
    });
    await env.fire(post);
    let job = await env.waitRecord(post, (j) => j.state.status === "completed", "http POST completed");
    expect(job.state.result).toEqual({ got: { a: 1 } });
    const r = requests.find((q) => q.url === "/json")!;
    expect(r).toMatchObject({ method: "POST", headers: { "x-k": "v", "content-type": "application/json" } });

    const text = await env.job({ type: "http", args: { url: `${base}/text` } });
    await env.fire(text);
    job = await env.waitRecord(text, (j) => j.state.status === "completed", "http GET completed");
    expect(job.state.result).toBe("plain text");

    const missing = await env.job({ type: "http", args: { url: `${base}/missing` } });
    await env.fire(missing);
    job = await env.waitRecord(missing, (j) => j.state.status === "failedRetry", "404 fails");
    expect(job.state.lastError).toMatch(/answered 404 Not Found: no such thing/);

    const busy = await env.job({ type: "http", args: { url: `${base}/busy` } });
    const t0 = Date.now();
    await env.fire(busy);
    job = await env.waitRecord(busy, (j) => j.state.status === "failedRetry", "429 fails");
    expect(Date.parse(job.state.retryAt!)).toBeGreaterThanOrEqual(t0 + 30_000);

    const bad = await env.job({ type: "http", args: { url: "ftp://nope", method: "GET" } });
    await env.fire(bad);
    job = await env.waitRecord(bad, (j) => j.state.isAbandoned, "bad args abandon");
    expect(job.state.lastError).toMatch(/args\.url/);
  });

  it("sleep waits args.ms; console logs args.message", async () => {
    const { logger, lines } = capturingLogger();
    const s = service({ node: "h2", logger });
    await s.start();
    const nap = await env.job({ type: "sleep", args: { ms: 300 } });
    const say = await env.job({ type: "console", args: { message: "hello from a job" } });
    const t0 = Date.now();
    await env.fire(nap);
    await env.fire(say);
    const napped = await env.waitRecord(nap, (j) => j.state.status === "completed", "sleep completed");
    expect(Date.parse(napped.state.lastRunTime!) - t0).toBeLessThan(2000);
    expect(napped.state.result).toEqual({ sleptMs: 300 });
    await env.waitRecord(say, (j) => j.state.status === "completed", "console completed");
    const line = lines.find((l) => l["message"] === "hello from a job");
    expect(line).toMatchObject({ msg: "hello from a job", jobId: say.id, type: "console" });
  });

  it("registers the built-in types with their args as JSON Schema", async () => {
    const s = service({ node: "h3" });
    await s.start();
    // read the keys directly (Registry.types() lists keys, which may repeat one being rewritten)
    const types = await waitFor(
      async () => {
        const got = await Promise.all(
          ["http", "sleep", "console"].map((t) => env.topo.registry.get(`type.${t}`)),
        );
        if (!got.every((e) => e?.operation === "PUT")) return undefined;
        const infos = got.map((e) => decode(e!.value) as JobTypeInfo);
        // earlier services of this file announced the same types: wait for this one's beat
        return infos.every((t) => t.nodes.includes("h3")) ? infos : undefined;
      },
      { message: "types registered" },
    );
    const http = types[0]!;
    expect(http.argsSchema).toMatchObject({
      type: "object",
      required: ["url"],
      properties: { url: {}, method: {} },
    });
    expect(types.map((t) => [t.type, t.nodes])).toEqual([
      ["http", ["h3"]],
      ["sleep", ["h3"]],
      ["console", ["h3"]],
    ]);
  });
});

describe("handler modules", () => {
  it("loads a default-export map (with argsSchema) and a register(worker) module", async () => {
    const s = service({
      node: "m1",
      handlerModules: [fixture("map-handlers.mjs"), fixture("register-handlers.mjs")],
    });
    await s.start();
    expect(s.worker.types).toEqual(
      expect.arrayContaining(["greet", "add", "shout", "http", "sleep", "console"]),
    );
    const greet = await env.job({ type: "greet", args: { name: "ada" } });
    const add = await env.job({ type: "add", args: { a: 2, b: 3 } });
    const addBad = await env.job({ type: "add", args: { a: "2", b: 3 } });
    const shout = await env.job({ type: "shout", args: { text: "hey" } });
    for (const d of [greet, add, addBad, shout]) await env.fire(d);
    expect((await env.waitRecord(greet, (j) => j.state.status === "completed", "greet")).state.result).toBe(
      "hello ada",
    );
    expect((await env.waitRecord(add, (j) => j.state.status === "completed", "add")).state.result).toBe(5);
    expect((await env.waitRecord(shout, (j) => j.state.status === "completed", "shout")).state.result).toBe(
      "HEY",
    );
    const bad = await env.waitRecord(addBad, (j) => j.state.isAbandoned, "add with bad args");
    expect(bad.state.lastError).toMatch(/args\.a/);
  });

  it("a module that cannot be loaded or exports nothing usable fails start with a clear error", async () => {
    await expect(service({ node: "m2", handlerModules: ["./does-not-exist.mjs"] }).start()).rejects.toThrow(
      /cannot load handlers module/,
    );
    await expect(
      service({ node: "m3", handlerModules: ["data:text/javascript,export const x = 1;"] }).start(),
    ).rejects.toThrow(/must default-export a map/);
  });

  it("start() and stop() are idempotent", async () => {
    const s = service({ node: "m4" });
    const a = s.start();
    expect(s.start()).toBe(a);
    await a;
    const b = s.stop();
    expect(s.stop()).toBe(b);
    await b;
  });
});

describe("configuration", () => {
  it("reads flags and environment; flags add to TASKJET_HANDLERS", () => {
    const c = configFrom(
      ["--node", "eu-1", "--handlers", "a.mjs", "--handlers", "b.mjs", "--concurrency", "7"],
      {
        NATS_URL: "nats://x:4222,nats://y:4222",
        TASKJET_HANDLERS: "env1.mjs, env2.mjs",
        TASKJET_PREFIX: "pfx",
        TASKJET_ACK_WAIT_MS: "5000",
        TASKJET_EVENTS: "0",
        TASKJET_HTTP_ALLOW: "127.0.0.1, *.svc.cluster.local",
        TASKJET_HTTP_DENY: "10.0.0.5",
        TASKJET_HTTP_MAX_RESPONSE_BYTES: "1024",
        TASKJET_ACTION_SUBJECT_ALLOW: "partner.>",
      },
    );
    expect(c).toMatchObject({
      node: "eu-1",
      concurrency: 7,
      handlerModules: ["env1.mjs", "env2.mjs", "a.mjs", "b.mjs"],
      ackWaitMs: 5000,
      events: false,
      nats: { servers: ["nats://x:4222", "nats://y:4222"], prefix: "pfx" },
      httpAllow: ["127.0.0.1", "*.svc.cluster.local"],
      httpDeny: ["10.0.0.5"],
      httpMaxResponseBytes: 1024,
      actionSubjectAllow: ["partner.>"],
    });
    expect(() => configFrom([], { TASKJET_HTTP_ALLOW: "10.0.0.0/40" })).toThrow(
      expect.objectContaining({ field: "TASKJET_HTTP_ALLOW" }),
    );
    // the scheduler's retention, for the fast-lane jobs this worker finishes
    expect(
      configFrom([], { TASKJET_RETENTION: '{"types":{"mail":{"removeOnComplete":true}}}' }).retention,
    ).toMatchObject({ types: { mail: { removeOnComplete: true } } });
    for (const bad of ["{nope", '{"removeOnComplete":"yes"}']) {
      expect(() => configFrom([], { TASKJET_RETENTION: bad })).toThrow(
        expect.objectContaining({ field: expect.stringMatching(/^TASKJET_RETENTION/) }),
      );
    }
    expect(configFrom([], { TASKJET_NODE: "n9", TASKJET_CONCURRENCY: "3" })).toMatchObject({
      node: "n9",
      concurrency: 3,
    });
    // behind server permissions (deploy/nats/): its own inbox prefix, and streams only opened, never created
    expect(
      configFrom([], {
        TASKJET_CREATE_TOPOLOGY: "0",
        TASKJET_STREAM_REPLICAS: "3",
        TASKJET_NATS_INBOX_PREFIX: "_INBOX_worker_n1",
      }),
    ).toMatchObject({ topology: { create: false, replicas: 3 }, nats: { inboxPrefix: "_INBOX_worker_n1" } });
    expect(() => configFrom(["--concurrency", "many"], {})).toThrow(/concurrency must be a whole number/);
    expect(() => configFrom(["--bogus"], {})).toThrow(/bogus/);
  });

  it("resolves module references: files relative to the working directory, URLs and packages as they are", () => {
    expect(specifierOf("./h.mjs", "/srv/app")).toBe("file:///srv/app/h.mjs");
    expect(specifierOf("lib/h.js", "/srv/app")).toBe("file:///srv/app/lib/h.js");
    expect(specifierOf("/abs/h.mjs", "/srv/app")).toBe("file:///abs/h.mjs");
    expect(specifierOf("file:///x/h.mjs")).toBe("file:///x/h.mjs");
    expect(specifierOf("@acme/handlers")).toBe("@acme/handlers");
  });
});
