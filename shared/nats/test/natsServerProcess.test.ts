/** The one nats-server launcher (taskjet dev and the tests' harness): failures are NatsServerStartError. */
import { describe, expect, it } from "vitest";
import { launchNatsServer, NatsServerStartError } from "@taskjet/nats";

describe("launchNatsServer", () => {
  it("a binary that is not there: NatsServerStartError with the spawn's ENOENT (taskjet dev says: not on PATH)", async () => {
    const err = await launchNatsServer({
      binary: "no-such-nats-server-binary",
      args: [],
      readyTimeoutMs: 5_000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NatsServerStartError);
    expect((err as NatsServerStartError).spawnCode).toBe("ENOENT");
  });

  it("a server that exits at once: NatsServerStartError with its log", async () => {
    const err = await launchNatsServer({
      binary: "nats-server",
      args: ["--no-such-flag"],
      readyTimeoutMs: 10_000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NatsServerStartError);
    expect((err as NatsServerStartError).message).toMatch(/exited before it was ready/);
    expect((err as NatsServerStartError).log).toMatch(/no-such-flag/);
  });
});
