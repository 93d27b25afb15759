/** readSettings: the one reader of flags and environment variables every service and the CLI use. */
import { describe, expect, it } from "vitest";
import { envText, readSettings, token, withoutUndefined } from "@taskjet/protocol";

const defs = {
  concurrency: { flag: "concurrency", env: "TASKJET_CONCURRENCY", schema: envText.int(1, 1000) },
  events: { env: "TASKJET_EVENTS", schema: envText.bool() },
  hosts: { env: "TASKJET_HOSTS", schema: envText.list() },
  retention: { env: "TASKJET_RETENTION", schema: envText.json() },
  ratio: { env: "TASKJET_RATIO", schema: envText.number() },
  tenant: { flag: "tenant", env: "TASKJET_TENANT", schema: token("tenant") },
};

describe("readSettings", () => {
  it("reads text into typed values; a flag wins over its variable; unset and empty ones are left out", () => {
    const s = readSettings(defs, {
      env: {
        TASKJET_CONCURRENCY: "4",
        TASKJET_EVENTS: " Off ",
        TASKJET_HOSTS: "a, b,,c ",
        TASKJET_RETENTION: '{"removeOnComplete":true}',
        TASKJET_RATIO: "0.5",
        TASKJET_TENANT: "  ",
      },
      flags: { concurrency: "8", tenant: undefined },
    });
    expect(s).toEqual({
      concurrency: 8,
      events: false,
      hosts: ["a", "b", "c"],
      retention: { removeOnComplete: true },
      ratio: 0.5,
    });
    expect(Object.keys(readSettings(defs, { env: {} }))).toEqual([]);
  });

  it("a bad value is a ValidationError naming the flag or the variable it came from", () => {
    const bad = (env: Record<string, string>, flags: Record<string, unknown> = {}) => {
      try {
        readSettings(defs, { env, flags });
      } catch (err) {
        return err;
      }
      return undefined;
    };
    expect(bad({ TASKJET_CONCURRENCY: "lots" })).toMatchObject({
      code: "INVALID_ARGUMENT",
      field: "TASKJET_CONCURRENCY",
      message: 'TASKJET_CONCURRENCY must be a whole number, got "lots"',
    });
    expect(bad({}, { concurrency: "0" })).toMatchObject({
      field: "concurrency",
      message: '--concurrency must be a whole number from 1 to 1000, got "0"',
    });
    expect(bad({ TASKJET_CONCURRENCY: "2.5" })).toMatchObject({ field: "TASKJET_CONCURRENCY" });
    expect(bad({ TASKJET_EVENTS: "maybe" })).toMatchObject({
      field: "TASKJET_EVENTS",
      message: 'TASKJET_EVENTS must be true or false (1/0, yes/no, on/off), got "maybe"',
    });
    expect(bad({ TASKJET_RETENTION: "{nope" })).toMatchObject({ field: "TASKJET_RETENTION" });
    expect(bad({ TASKJET_RATIO: "Infinity" })).toMatchObject({ field: "TASKJET_RATIO" });
    expect(bad({}, { tenant: "a.b" })).toMatchObject({
      field: "tenant",
      message: expect.stringMatching(/^--tenant: tenant may contain only/),
    });
  });

  it("withoutUndefined drops undefined properties only", () => {
    expect(withoutUndefined({ a: 1, b: undefined, c: null, d: 0 })).toEqual({ a: 1, c: null, d: 0 });
    expect(Object.keys(withoutUndefined({ a: undefined }))).toEqual([]);
  });
});
