import { describe, expect, it } from "vitest";
import type { NatsConnection } from "@nats-io/nats-core";
import { FailedPreconditionError } from "@taskjet/protocol";
import { assertReplicasSafe, serverHas, versionAtLeast } from "@taskjet/nats";

/** Only what the checks read: the server's INFO (a real connection's `info`). */
const at = (version: string) => ({ info: { version } }) as unknown as NatsConnection;

describe("server version checks", () => {
  it("versionAtLeast compares major, minor and patch as numbers, ignoring a pre-release suffix", () => {
    expect(versionAtLeast("2.9.21", "2.9.21")).toBe(true);
    expect(versionAtLeast("2.10.0", "2.9.21")).toBe(true);
    expect(versionAtLeast("2.9.9", "2.9.10")).toBe(false);
    expect(versionAtLeast("2.11.0-RC.1", "2.11.0")).toBe(true);
    expect(versionAtLeast("3.0.0", "2.99.99")).toBe(true);
  });

  it("serializableCas: from 2.9.21 (nats-server#4320)", () => {
    expect(serverHas(at("2.9.10"), "serializableCas")).toBe(false);
    expect(serverHas(at("2.9.20"), "serializableCas")).toBe(false);
    expect(serverHas(at("2.9.21"), "serializableCas")).toBe(true);
    expect(serverHas(at("2.10.27"), "serializableCas")).toBe(true);
  });

  it("assertReplicasSafe refuses replicas > 1 below 2.9.21, naming topology.replicas; R1 passes on any server", () => {
    expect(() => assertReplicasSafe(at("2.9.10"), 1, "x")).not.toThrow();
    expect(() => assertReplicasSafe(at("2.10.27"), 3, "x")).not.toThrow();
    let err: unknown;
    try {
      assertReplicasSafe(at("2.9.10"), 3, "TASKJET_STREAM_REPLICAS=3");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect(err).toMatchObject({
      code: "FAILED_PRECONDITION",
      field: "topology.replicas",
      details: { replicas: 3, serverVersion: "2.9.10", needs: "2.9.21" },
    });
    expect((err as Error).message).toMatch(
      /^TASKJET_STREAM_REPLICAS=3 has 3 replicas, but nats-server 2\.9\.10/,
    );
  });
});
