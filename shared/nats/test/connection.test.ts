import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nkeys } from "@nats-io/nats-core";
import { ValidationError } from "@taskjet/protocol";
import { connectNats, inboxFor, inboxPrefixOf, logLevelFromEnv, natsConfigFromEnv } from "@taskjet/nats";
import { startNats, useNatsServer, waitFor } from "@taskjet/testing";

const nats = useNatsServer();

/** The ValidationError `fn` throws. */
function validationError(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  return expect.fail("no ValidationError");
}

describe("log level", () => {
  it("TASKJET_LOG_LEVEL, else the deprecated LOG_LEVEL, else the fallback; a bad level names the variable", () => {
    expect(logLevelFromEnv({})).toBe("info");
    expect(logLevelFromEnv({}, "warn")).toBe("warn");
    expect(logLevelFromEnv({ LOG_LEVEL: "debug" })).toBe("debug");
    expect(logLevelFromEnv({ TASKJET_LOG_LEVEL: "error", LOG_LEVEL: "debug" })).toBe("error");
    expect(logLevelFromEnv({ TASKJET_LOG_LEVEL: " " }, "warn")).toBe("warn");
    expect(() => logLevelFromEnv({ TASKJET_LOG_LEVEL: "loud" })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", field: "TASKJET_LOG_LEVEL" }),
    );
  });
});

describe("connection settings", () => {
  it("read the inbox prefix and an nkey seed (or its file) from the environment", () => {
    const seed = new TextDecoder().decode(nkeys.createUser().getSeed());
    expect(
      natsConfigFromEnv({ TASKJET_NATS_INBOX_PREFIX: "_INBOX_acme", NATS_NKEY_SEED: seed }),
    ).toMatchObject({ inboxPrefix: "_INBOX_acme", nkeySeed: seed });
    expect(natsConfigFromEnv({ NATS_NKEY_SEED_FILE: "/run/secrets/n1.nk" }).nkeySeedFile).toBe(
      "/run/secrets/n1.nk",
    );
    // flags and options win over the environment
    expect(
      natsConfigFromEnv({ TASKJET_NATS_INBOX_PREFIX: "_INBOX_a" }, { inboxPrefix: "_INBOX_b" }).inboxPrefix,
    ).toBe("_INBOX_b");
  });

  it("refuse a wildcard inbox prefix, a seed that is no user seed, and two authenticators, naming the field", () => {
    expect(validationError(() => natsConfigFromEnv({ TASKJET_NATS_INBOX_PREFIX: "_INBOX.>" })).field).toBe(
      "inboxPrefix",
    );
    expect(validationError(() => natsConfigFromEnv({ TASKJET_NATS_INBOX_PREFIX: "a..b" })).field).toBe(
      "inboxPrefix",
    );
    expect(validationError(() => natsConfigFromEnv({ NATS_NKEY_SEED: "not-a-seed" })).field).toBe("nkeySeed");
    const both = validationError(() =>
      natsConfigFromEnv({ NATS_CREDS: "/x.creds", NATS_NKEY_SEED_FILE: "/x.nk" }),
    );
    expect(both.field).toBe("nkeySeedFile");
  });

  it("connect with the inbox prefix and an nkey seed file: requests reply under the prefix", async () => {
    const seed = new TextDecoder().decode(nkeys.createUser().getSeed());
    const dir = mkdtempSync(join(tmpdir(), "taskjet-conn-"));
    try {
      writeFileSync(join(dir, "user.nk"), `${seed}\n`);
      // a server without auth accepts any nkey: what is checked here is that the seed file is read and used
      const nc = await connectNats(
        natsConfigFromEnv(
          {},
          { servers: [nats.server.url], inboxPrefix: "_INBOX_acme", nkeySeedFile: join(dir, "user.nk") },
        ),
      );
      try {
        expect(inboxPrefixOf(nc)).toBe("_INBOX_acme");
        expect(inboxFor(nc)).toMatch(/^_INBOX_acme\.[A-Za-z0-9]+$/);
        const replyTo = new Promise<string | undefined>((resolve) =>
          nats.nc.subscribe("conn.echo", {
            max: 1,
            callback: (_e, m) => {
              resolve(m.reply);
              m.respond(m.data);
            },
          }),
        );
        await nats.nc.flush();
        await nc.request("conn.echo", "hi", { timeout: 2_000 });
        expect(await replyTo).toMatch(/^_INBOX_acme\./);
      } finally {
        await nc.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("read how soon a dead server is noticed from the environment, with short defaults; a bad value names its field", () => {
    expect(natsConfigFromEnv({})).toMatchObject({
      pingIntervalMs: 2_000,
      maxPingsOut: 2,
      connectTimeoutMs: 5_000,
    });
    expect(
      natsConfigFromEnv({
        NATS_PING_INTERVAL_MS: "500",
        NATS_MAX_PINGS_OUT: "3",
        NATS_CONNECT_TIMEOUT_MS: "2000",
      }),
    ).toMatchObject({ pingIntervalMs: 500, maxPingsOut: 3, connectTimeoutMs: 2_000 });
    expect(validationError(() => natsConfigFromEnv({ NATS_PING_INTERVAL_MS: "soon" })).field).toBe(
      "pingIntervalMs",
    );
    expect(validationError(() => natsConfigFromEnv({ NATS_MAX_PINGS_OUT: "0" })).field).toBe("maxPingsOut");
  });

  it("leave a server that stops answering without closing the connection (a partition) for another one", async () => {
    const a = await startNats({ jetstream: false });
    const b = await startNats({ jetstream: false });
    // SIGSTOP: the TCP connection stays open and nothing answers, as when a partition cuts a server off
    const freeze = (signal: NodeJS.Signals) => a.pid !== undefined && process.kill(a.pid, signal);
    const nc = await connectNats(
      natsConfigFromEnv({}, { servers: [a.url, b.url], pingIntervalMs: 250, connectTimeoutMs: 1_000 }),
      { noRandomize: true },
    );
    try {
      expect(nc.getServer()).toContain(`:${a.port}`);
      freeze("SIGSTOP");
      // nats.js' own default (a ping every 2 minutes) would stay on the frozen server for 4-6 minutes
      await waitFor(() => nc.getServer().includes(`:${b.port}`), {
        timeoutMs: 20_000,
        message: "the connection moved to the server that answers",
      });
      await nc.flush();
      const echoed = nc.subscribe("conn.after", { max: 1 });
      nc.publish("conn.after", "still works");
      for await (const m of echoed) expect(m.string()).toBe("still works");
    } finally {
      freeze("SIGCONT");
      await nc.close();
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
