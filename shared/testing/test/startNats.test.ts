import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  collect,
  connectTo,
  isAlive,
  NatsServerStartError,
  registrySnapshot,
  startNats,
  uniqueName,
  type NatsServerFixture,
} from "../src/index.js";

// These tests are about spawning; a NATS_URL from the environment would bypass that.
const savedNatsUrl = process.env.NATS_URL;
beforeAll(() => {
  delete process.env.NATS_URL;
});
afterAll(() => {
  if (savedNatsUrl === undefined) delete process.env.NATS_URL;
  else process.env.NATS_URL = savedNatsUrl;
});

describe("startNats (spawned nats-server)", () => {
  it("serves core NATS and JetStream, and stop() leaves no process or dir behind", async () => {
    const nats = await startNats();
    const pid = nats.pid;
    const storeDir = nats.storeDir;
    try {
      expect(nats.canRestart).toBe(true);
      expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
      expect(pid).toBeTypeOf("number");
      expect(storeDir && existsSync(storeDir)).toBeTruthy();
      expect(registrySnapshot().pids).toContain(pid);

      const nc = await connectTo(nats.url);
      try {
        const subject = `${uniqueName("s")}.hello`;
        const sub = nc.subscribe(subject, { max: 1 });
        nc.publish(subject, "hi there");
        const [msg] = await collect(sub, 1, 5_000);
        expect(msg?.string()).toBe("hi there");

        const stream = uniqueName("st");
        const jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
        const ack = await jetstream(nc).publish(`${stream}.a`, "payload");
        expect(ack.seq).toBe(1);
        const account = await jsm.getAccountInfo();
        expect(account.streams).toBe(1);
        expect((await jsm.streams.info(stream)).state.messages).toBe(1);
      } finally {
        await nc.close();
      }
    } finally {
      await nats.stop();
    }
    expect(() => process.kill(pid ?? -1, 0)).toThrow();
    expect(isAlive(pid ?? -1)).toBe(false);
    expect(existsSync(storeDir ?? "")).toBe(false);
    expect(nats.pid).toBeUndefined();
    expect(registrySnapshot().pids).not.toContain(pid);
    expect(registrySnapshot().tempDirs).not.toContain(storeDir);
    await nats.stop(); // idempotent
    await expect(nats.restart()).rejects.toThrow(/stopped/);
  });

  it("starts without JetStream when asked", async () => {
    const nats = await startNats({ jetstream: false });
    try {
      expect(nats.storeDir).toBeUndefined();
      const nc = await connectTo(nats.url);
      try {
        await expect(jetstreamManager(nc, { timeout: 2_000 })).rejects.toThrow();
      } finally {
        await nc.close();
      }
    } finally {
      await nats.stop();
    }
  });

  it("passes extra args and surfaces the server's log when it fails to start", async () => {
    const dirsBefore = registrySnapshot().tempDirs;
    const err = await startNats({ args: ["--no-such-flag"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NatsServerStartError);
    expect((err as NatsServerStartError).message).toMatch(/exited before it was ready/);
    expect((err as NatsServerStartError).log).toMatch(/no-such-flag/);
    // The failed start cleaned up after itself.
    expect(registrySnapshot().tempDirs).toEqual(dirsBefore);
  });
});

describe("startNats with NATS_URL", () => {
  let owner: NatsServerFixture;
  beforeAll(async () => {
    owner = await startNats();
  });
  afterAll(async () => {
    await owner?.stop();
  });

  it("uses the given server instead of spawning one, and cannot restart it", async () => {
    process.env.NATS_URL = owner.url;
    let external: NatsServerFixture;
    try {
      external = await startNats();
    } finally {
      delete process.env.NATS_URL;
    }
    expect(external.url).toBe(owner.url);
    expect(external.port).toBe(owner.port);
    expect(external.canRestart).toBe(false);
    expect(external.pid).toBeUndefined();
    expect(external.storeDir).toBeUndefined();
    await expect(external.kill()).rejects.toThrow(/external/);
    await expect(external.restart()).rejects.toThrow(/external/);

    await external.stop(); // a no-op: the owner's server keeps running
    expect(isAlive(owner.pid ?? -1)).toBe(true);
    const nc = await connectTo(external.url);
    await nc.flush();
    await nc.close();
  });
});

describe("startNats without nats-server on PATH", () => {
  it("falls back to Docker, or explains how to get a server", async () => {
    const savedPath = process.env.PATH;
    const emptyDir = mkdtempSync(join(tmpdir(), "taskjet-testing-path-"));
    process.env.PATH = emptyDir;
    let result: NatsServerFixture | Error;
    try {
      result = await startNats().catch((e: unknown) => e as Error);
    } finally {
      process.env.PATH = savedPath;
      rmSync(emptyDir, { recursive: true, force: true });
    }
    if (result instanceof Error) {
      expect(result.message).toMatch(/apt-get install nats-server/);
      expect(result.message).toMatch(/NATS_URL/);
      expect(result.message).toMatch(/Docker/);
    } else {
      // A Docker engine answered: a container server, which cannot be crashed/restarted.
      try {
        expect(result.canRestart).toBe(false);
        const nc = await connectTo(result.url);
        await nc.flush();
        await nc.close();
      } finally {
        await result.stop();
      }
    }
  });
});
