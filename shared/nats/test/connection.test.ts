import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nkeys } from "@nats-io/nats-core";
import { ValidationError } from "@taskjet/protocol";
import { connectNats, inboxFor, inboxPrefixOf, logLevelFromEnv, natsConfigFromEnv } from "@taskjet/nats";
import { useNatsServer } from "@taskjet/testing";

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
});
