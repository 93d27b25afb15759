/**
 * Issue 13 (tenancy): the built-in `http` job fetched a service listening only on loopback and returned
 * its body as the job's result (readable through the gateway). Now a destination the operator did not
 * allow abandons the job before any connection, also when reached by a redirect, and an answer over
 * httpMaxResponseBytes fails the run instead of being stored.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startNats, type NatsServerFixture } from "@taskjet/testing";
import { WorkerService, type WorkerServiceOptions } from "@taskjet/worker";
import { capturingLogger, ServiceTestEnv } from "./helpers.js";

let server: NatsServerFixture;
let env: ServiceTestEnv;
const httpServers: Server[] = [];
const seen: string[] = [];
const services: WorkerService[] = [];
/** 127.0.0.1: the host an operator allows in these tests; 127.0.0.2: a private service (never allowed). */
let allowed: string;
let internal: string;

async function listen(host: string): Promise<string> {
  const s = createServer((req, res) => {
    seen.push(`${host}${req.url ?? ""}`);
    const u = new URL(req.url ?? "/", "http://x");
    if (u.pathname === "/redirect") {
      res.writeHead(302, { location: u.searchParams.get("to")! });
      res.end();
    } else if (u.pathname === "/big") {
      res.end("x".repeat(Number(u.searchParams.get("n"))));
    } else {
      res.end(`private data of ${host}`);
    }
  });
  httpServers.push(s);
  await new Promise<void>((r) => s.listen(0, host, r));
  return `http://${host}:${(s.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  server = await startNats();
  env = await new ServiceTestEnv(server).init();
  allowed = await listen("127.0.0.1");
  internal = await listen("127.0.0.2");
});
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.stop()));
});
afterAll(async () => {
  await env?.close();
  await Promise.all(httpServers.map((s) => new Promise((r) => s.close(r))));
  await server?.stop();
});

async function service(opts: WorkerServiceOptions): Promise<WorkerService> {
  const s = new WorkerService({
    nats: { servers: [server.url], prefix: env.ns.prefix },
    logger: capturingLogger().logger,
    idlePollMs: 1000,
    ...opts,
  });
  services.push(s);
  await s.start();
  return s;
}

async function abandoned(url: string) {
  const def = await env.job({ type: "http", args: { url } });
  await env.fire(def);
  return env.waitRecord(def, (j) => j.state.isAbandoned, `http job on ${url} abandoned`);
}

describe("http job destinations", () => {
  it("refuses a loopback service by default: the run fails for good, no request is made, no body stored", async () => {
    await service({ node: "d1" });
    const url = `${allowed}/secret`;
    const job = await abandoned(url);
    expect(job.state).toMatchObject({ status: "stopped", isAbandoned: true, tryCount: 1 });
    expect(job.state.lastError).toBe(
      `http destination refused: ${url}: 127.0.0.1 is a loopback address, refused unless the operator allows it (httpAllow / TASKJET_HTTP_ALLOW)`,
    );
    expect(job.state.result).toBeUndefined();
    // the NATS server's own port on loopback is refused the same way
    const nats = await abandoned(`http://127.0.0.1:${new URL(server.url).port}/`);
    expect(nats.state.lastError).toMatch(/loopback address/);
    expect(seen.filter((s) => s.endsWith("/secret"))).toEqual([]);
  });

  it("fetches it when the operator allowed the address", async () => {
    await service({ node: "d2", httpAllow: ["127.0.0.1"] });
    const def = await env.job({ type: "http", args: { url: `${allowed}/ok` } });
    await env.fire(def);
    const job = await env.waitRecord(def, (j) => j.state.status === "completed", "allowed http job");
    expect(job.state.result).toBe("private data of 127.0.0.1");
  });

  it("refuses a redirect from an allowed host to one that is not", async () => {
    await service({ node: "d3", httpAllow: ["127.0.0.1"] });
    const target = `${internal}/data`;
    const job = await abandoned(`${allowed}/redirect?to=${encodeURIComponent(target)}`);
    expect(job.state.lastError).toContain(
      `http destination refused: ${target}: 127.0.0.2 is a loopback address`,
    );
    expect(job.state.result).toBeUndefined();
    expect(seen.filter((s) => s.startsWith("127.0.0.2"))).toEqual([]);
  });

  it("fails a response over httpMaxResponseBytes instead of storing it", async () => {
    await service({ node: "d4", httpAllow: ["127.0.0.1"], httpMaxResponseBytes: 100 });
    const small = await env.job({ type: "http", args: { url: `${allowed}/big?n=100` } });
    await env.fire(small);
    expect(
      (await env.waitRecord(small, (j) => j.state.status === "completed", "100 bytes stored")).state.result,
    ).toBe("x".repeat(100));
    const url = `${allowed}/big?n=101`;
    const job = await abandoned(url);
    expect(job.state.lastError).toBe(`response of ${url} is larger than 100 bytes (httpMaxResponseBytes)`);
    expect(job.state.result).toBeUndefined();
  });
});
