/**
 * Outgoing HTTP under the destination policy, against real servers on loopback: 127.0.0.1 stands for "a
 * host the operator allowed", 127.0.0.2 (loopback too, never allowed here) for the private service a
 * tenant's URL must not reach.
 */
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DestinationPolicy,
  DestinationRefusedError,
  GuardedHttp,
  NonRetryableError,
  ResponseTooLargeError,
} from "@taskjet/worker-runtime";

const seen: { host: string; url: string }[] = [];
const servers: Server[] = [];

async function serve(host: string, handler: RequestListener): Promise<string> {
  const s = createServer((req, res) => {
    seen.push({ host, url: req.url ?? "" });
    handler(req, res);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, host, r));
  return `http://${host}:${(s.address() as AddressInfo).port}`;
}

let allowed: string;
let secret: string;
beforeAll(async () => {
  secret = await serve("127.0.0.2", (_req, res) => res.end("internal secret"));
  allowed = await serve("127.0.0.1", (req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    if (u.pathname === "/to") {
      res.writeHead(Number(u.searchParams.get("status") ?? 302), { location: u.searchParams.get("url")! });
      res.end();
    } else if (u.pathname === "/big") {
      const n = Number(u.searchParams.get("n"));
      if (u.searchParams.has("chunked")) {
        res.write("x".repeat(n - 1));
        res.end("x");
      } else {
        res.end("x".repeat(n));
      }
    } else if (u.pathname === "/gzip") {
      res.writeHead(200, { "content-encoding": "gzip" });
      res.end(gzipSync("y".repeat(Number(u.searchParams.get("n")))));
    } else {
      res.end(`hello ${req.method ?? ""}`);
    }
  });
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

const client = (allow: string[] = [], max = 1024) => new GuardedHttp(new DestinationPolicy({ allow }), max);
const hitsOf = (host: string) => seen.filter((s) => s.host === host).length;

async function refusal(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as Error;
}

describe("guarded outgoing HTTP", () => {
  it("refuses loopback by default, before connecting; allows it when the operator does", async () => {
    const before = hitsOf("127.0.0.1");
    const err = await refusal(client().request({ url: `${allowed}/x` }));
    expect(err).toBeInstanceOf(DestinationRefusedError);
    expect(err).toBeInstanceOf(NonRetryableError);
    expect(err.message).toBe(
      `http destination refused: ${allowed}/x: 127.0.0.1 is a loopback address, refused unless the operator allows it (httpAllow / TASKJET_HTTP_ALLOW)`,
    );
    const named = await refusal(client().request({ url: `${allowed.replace("127.0.0.1", "localhost")}/x` }));
    expect(named).toBeInstanceOf(DestinationRefusedError);
    expect(hitsOf("127.0.0.1")).toBe(before);

    const res = await client(["127.0.0.1"]).request({ url: `${allowed}/x`, method: "POST", body: "b" });
    expect(res).toMatchObject({ status: 200, ok: true, truncated: false });
    expect(res.body.toString()).toBe("hello POST");
    // a host name entry: resolved, checked, and connected through the checked addresses
    const byName = await client(["localhost"]).request({
      url: `${allowed.replace("127.0.0.1", "localhost")}/n`,
    });
    expect(byName.body.toString()).toBe("hello GET");
  });

  it("checks every redirect hop: an allowed host redirecting to a loopback one is refused", async () => {
    for (const status of [301, 302, 303, 307, 308]) {
      const to = `${allowed}/to?status=${status}&url=${encodeURIComponent(`${secret}/data`)}`;
      const err = await refusal(client(["127.0.0.1"]).request({ url: to }));
      expect(err).toBeInstanceOf(DestinationRefusedError);
      expect(err.message).toContain(`${secret}/data: 127.0.0.2 is a loopback address`);
    }
    expect(hitsOf("127.0.0.2")).toBe(0);
    // the same redirect within what the operator allowed is followed
    const ok = await client(["127.0.0.0/8"]).request({
      url: `${allowed}/to?url=${encodeURIComponent(`${secret}/data`)}`,
    });
    expect(ok.body.toString()).toBe("internal secret");
    expect(ok.url).toBe(`${secret}/data`);
    const loop = `${allowed}/to?url=${encodeURIComponent("/to?url=/x")}`;
    await expect(client(["127.0.0.1"]).request({ url: loop, maxRedirects: 1 })).rejects.toThrow(
      /more than 1 redirects/,
    );
    await expect(
      client(["127.0.0.1"]).request({ url: `${allowed}/to?url=${encodeURIComponent("file:///etc/passwd")}` }),
    ).rejects.toBeInstanceOf(NonRetryableError);
  });

  it("caps the body: over the cap fails (declared or streamed), or is cut off when asked", async () => {
    const http = client(["127.0.0.1"], 1000);
    expect((await http.request({ url: `${allowed}/big?n=1000` })).body.length).toBe(1000);
    for (const url of [`${allowed}/big?n=1001`, `${allowed}/big?n=5000&chunked`, `${allowed}/gzip?n=5000`]) {
      const err = await refusal(http.request({ url }));
      expect(err).toBeInstanceOf(ResponseTooLargeError);
      expect(err.message).toBe(`response of ${url} is larger than 1000 bytes (httpMaxResponseBytes)`);
    }
    const head = await http.request({ url: `${allowed}/big?n=5000`, method: "HEAD" });
    expect(head).toMatchObject({ status: 200, truncated: false });
    expect(head.body.length).toBe(0);
    const cut = await http.request({ url: `${allowed}/big?n=5000&chunked`, truncate: true });
    expect(cut).toMatchObject({ truncated: true });
    expect(cut.body.length).toBe(1000);
    const unzipped = await http.request({ url: `${allowed}/gzip?n=900` });
    expect(unzipped.body.toString()).toBe("y".repeat(900));
  });
});
