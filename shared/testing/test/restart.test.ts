import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { Status } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectTo, isAlive, startNats, uniqueName, waitFor, withDeadline } from "../src/index.js";

const savedNatsUrl = process.env.NATS_URL;
beforeAll(() => {
  delete process.env.NATS_URL;
});
afterAll(() => {
  if (savedNatsUrl === undefined) delete process.env.NATS_URL;
  else process.env.NATS_URL = savedNatsUrl;
});

describe("kill -9 and restart", () => {
  it("keeps port and file store, and a reconnecting client comes back", async () => {
    const nats = await startNats();
    const nc = await connectTo(nats.url, { maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    try {
      const stream = uniqueName("st");
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], storage: "file" });
      const js = jetstream(nc);
      for (let i = 1; i <= 3; i++) await js.publish(`${stream}.m`, `msg ${i}`);

      // Watch for the reconnect before causing it, so the event cannot be missed.
      const events: Status["type"][] = [];
      const reconnected = (async () => {
        for await (const s of nc.status()) {
          events.push(s.type);
          if (s.type === "reconnect") return true;
        }
        return false;
      })();

      const oldPid = nats.pid ?? -1;
      const port = nats.port;
      await nats.kill();
      expect(isAlive(oldPid)).toBe(false);
      expect(nats.pid).toBeUndefined();
      await waitFor(() => events.includes("disconnect"), { message: "client never saw the disconnect" });

      await nats.restart();
      expect(nats.port).toBe(port);
      expect(nats.url).toBe(`nats://127.0.0.1:${port}`);
      expect(nats.pid).toBeTypeOf("number");
      expect(nats.pid).not.toBe(oldPid);

      await expect(withDeadline(reconnected, 15_000, "client did not reconnect")).resolves.toBe(true);
      const info = await waitFor(
        async () => {
          const si = await jsm.streams.info(stream);
          return si.state.messages === 3 && si;
        },
        { timeoutMs: 15_000, message: "stream did not come back with 3 messages" },
      );
      expect(info.state.last_seq).toBe(3);
      const last = await jsm.streams.getMessage(stream, { seq: 3 });
      expect(last?.string()).toBe("msg 3");
      // And it still takes writes.
      expect((await js.publish(`${stream}.m`, "msg 4")).seq).toBe(4);
    } finally {
      await nc.close();
      await nats.stop();
    }
  });

  it("restart() of a running server shuts it down first and keeps the port", async () => {
    const nats = await startNats();
    try {
      const first = nats.pid ?? -1;
      await nats.restart();
      expect(isAlive(first)).toBe(false);
      const nc = await connectTo(nats.url);
      await nc.flush();
      await nc.close();
    } finally {
      await nats.stop();
    }
  });
});
