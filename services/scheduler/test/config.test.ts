/** Options from code and from the environment: defaults, units, and errors that name the setting. */
import { describe, expect, it } from "vitest";
import { ENV_VARS, optionsFromEnv, resolveOptions } from "../src/index.js";

describe("options", () => {
  it("resolves defaults", () => {
    const o = resolveOptions({ replicaId: "r1" });
    expect(o).toMatchObject({
      prefix: "taskjet",
      replicaId: "r1",
      leaseTtlMs: 2_000,
      misfireThresholdMs: 60_000,
      cursorIntervalMs: 250,
      maxClockSkewMs: 2_000,
      standby: false,
      topology: { leaseTtlMs: 2_000 },
    });
  });

  it("rejects a bad option by name", () => {
    expect(() => resolveOptions({ leaseTtlMs: 10 })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", field: "leaseTtlMs" }),
    );
    expect(() => resolveOptions({ replicaId: "a.b" })).toThrow(/replicaId/);
  });

  it("jsonFires: node and type lists from code or TASKJET_JSON_FIRE_*, each name checked", () => {
    expect(resolveOptions({}).jsonFires).toEqual({ nodes: [], types: [] });
    const env = optionsFromEnv({ TASKJET_JSON_FIRE_NODES: "go1, _any", TASKJET_JSON_FIRE_TYPES: "greet" });
    expect(resolveOptions(env).jsonFires).toEqual({ nodes: ["go1", "_any"], types: ["greet"] });
    expect(ENV_VARS).toHaveProperty("TASKJET_JSON_FIRE_NODES");
    expect(() => resolveOptions({ jsonFires: { nodes: ["a.b"] } })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", field: "jsonFires.nodes.0" }),
    );
  });

  it("jsonFires.types: printable type names, comma-separated or a JSON array (for names with commas)", () => {
    const seed = "My.Company.Jobs.ConsoleJob, My.Company.Jobs";
    // from code: names as a job's type takes them
    expect(
      resolveOptions({ jsonFires: { types: ["email.send", "billing:invoice", seed] } }).jsonFires.types,
    ).toEqual(["email.send", "billing:invoice", seed]);
    // comma-separated: names without commas
    const listed = optionsFromEnv({ TASKJET_JSON_FIRE_TYPES: "email.send, billing:invoice,send mail" });
    expect(resolveOptions(listed).jsonFires.types).toEqual(["email.send", "billing:invoice", "send mail"]);
    // a JSON array (the value starts with `[`): names with commas too
    const json = optionsFromEnv({ TASKJET_JSON_FIRE_TYPES: ` ${JSON.stringify([seed, "greet"])}` });
    expect(resolveOptions(json).jsonFires).toEqual({ nodes: [], types: [seed, "greet"] });
    // each name checked with the job type's rule, naming the item
    expect(() => resolveOptions(optionsFromEnv({ TASKJET_JSON_FIRE_TYPES: '["ok", "tab\\there"]' }))).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", field: "jsonFires.types.1" }),
    );
    expect(() => resolveOptions({ jsonFires: { types: [" padded"] } })).toThrow(
      /jsonFires\.types\.0: type must not begin or end/,
    );
    expect(() => resolveOptions({ jsonFires: { types: ["x".repeat(129)] } })).toThrow(
      expect.objectContaining({ field: "jsonFires.types.0" }),
    );
    // a malformed array names the variable
    expect(() => optionsFromEnv({ TASKJET_JSON_FIRE_TYPES: '["a", ' })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", field: "TASKJET_JSON_FIRE_TYPES" }),
    );
    expect(() => optionsFromEnv({ TASKJET_JSON_FIRE_TYPES: "[1, 2]" })).toThrow(
      expect.objectContaining({ field: "TASKJET_JSON_FIRE_TYPES" }),
    );
  });

  it("reads TASKJET_* and NATS_* from the environment", () => {
    const opts = optionsFromEnv({
      NATS_URL: "nats://a:4222,nats://b:4222",
      TASKJET_PREFIX: "acme",
      TASKJET_LEASE_TTL_MS: "3000",
      TASKJET_MISFIRE_THRESHOLD_MS: "5000",
      TASKJET_REPLICA_ID: "sched-1",
      TASKJET_STANDBY: "true",
      TASKJET_STREAM_REPLICAS: "3",
    });
    expect(opts).toMatchObject({
      prefix: "acme",
      leaseTtlMs: 3_000,
      misfireThresholdMs: 5_000,
      replicaId: "sched-1",
      standby: true,
      topology: { replicas: 3 },
      natsConfig: { servers: ["nats://a:4222", "nats://b:4222"] },
    });
    expect(resolveOptions(opts).prefix).toBe("acme");
    expect(() => optionsFromEnv({ TASKJET_LEASE_TTL_MS: "soon" })).toThrow(
      expect.objectContaining({ field: "TASKJET_LEASE_TTL_MS" }),
    );
    expect(ENV_VARS["TASKJET_MISFIRE_THRESHOLD_MS"]).toBe("misfireThresholdMs");
  });

  it("reads the publish-action allow-list and refuses a malformed pattern by name", () => {
    const opts = optionsFromEnv({ TASKJET_ACTION_SUBJECT_ALLOW: "partner.*.done, audit.>" });
    expect(resolveOptions(opts).actionSubjectAllow).toEqual(["partner.*.done", "audit.>"]);
    expect(resolveOptions({}).actionSubjectAllow).toEqual([]);
    expect(() => optionsFromEnv({ TASKJET_ACTION_SUBJECT_ALLOW: "a.>.b" })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", field: "TASKJET_ACTION_SUBJECT_ALLOW" }),
    );
    expect(() => resolveOptions({ actionSubjectAllow: ["ok", "a..b"] })).toThrow(
      expect.objectContaining({ field: "actionSubjectAllow.1" }),
    );
  });
});
