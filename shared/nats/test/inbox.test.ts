// taskjet's own inboxes (the request multiplexer, bucket loads) live under the connection's inbox prefix, so a
// user the server lets subscribe to `_INBOX_<role>.>` only (deploy/nats/) can use them: here a server whose
// one user may publish anywhere but subscribe to `_INBOX_t.>` only.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { directPublisher, loadBucket, RequestMux } from "@taskjet/nats";
import { connectTo, startNats, uniqueName, type NatsServerFixture } from "@taskjet/testing";

const config = `
authorization {
  users = [
    { user: t, password: t, permissions: { publish: ">", subscribe: { allow: ["_INBOX_t.>", "mux.>"] } } }
  ]
}
`;

let dir: string;
let server: NatsServerFixture;
let nc: NatsConnection;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "taskjet-inbox-"));
  writeFileSync(join(dir, "inbox.conf"), config);
  server = await startNats({ args: ["-c", join(dir, "inbox.conf")] });
  nc = await connectTo(server.url, { user: "t", pass: "t", inboxPrefix: "_INBOX_t" });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(process.env["NATS_URL"])("inboxes under the connection's inbox prefix", () => {
  it("the request multiplexer gets its replies", async () => {
    const mux = new RequestMux(nc, directPublisher(nc), 2_000);
    try {
      const subject = `mux.${uniqueName("echo")}`;
      nc.subscribe(subject, { max: 1, callback: (_e, m) => void m.respond(m.data) });
      await nc.flush();
      const answer = await mux.request(subject, new TextEncoder().encode("ping"));
      expect(new TextDecoder().decode(answer.data)).toBe("ping");
    } finally {
      mux.close();
    }
  });

  it("a bucket load receives the bucket", async () => {
    const kv = await new Kvm(nc).create(uniqueName("ib"));
    await kv.put("a", "1");
    await kv.put("b", "2");
    const keys: string[] = [];
    await loadBucket(nc, kv, (key) => keys.push(key), { stallMs: 3_000 });
    expect(keys).toEqual(["a", "b"]);
  });
});
