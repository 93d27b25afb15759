/**
 * ArgsChecker's own logic (argsChecker.ts) on a registry stand-in: the JSON Schema round trip, field names,
 * warnings, caching and a registry that cannot be read. Against real servers: e2e/typedJobs.test.ts.
 */
import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { z } from "zod";
import type { JobTypeInfo } from "@taskjet/nats";
import { ValidationError } from "@taskjet/protocol";
import { ArgsChecker } from "@taskjet/nats";
import { ManualClock } from "../src/plan/clock.js";

const emailSchema = z.toJSONSchema(z.strictObject({ to: z.email(), subject: z.string() }), { io: "input" });

function setup(types: Record<string, JobTypeInfo | Error>) {
  const clock = new ManualClock("2026-01-01T00:00:00Z");
  const reads: string[] = [];
  const unknown: string[] = [];
  const checker = new ArgsChecker({
    registry: {
      type: async (t) => {
        reads.push(t);
        const v = types[t];
        if (v instanceof Error) throw v;
        return v;
      },
    },
    clock,
    cacheMs: 1000,
    onUnknownType: (t) => unknown.push(t),
    log: pino({ level: "silent" }),
  });
  return { checker, clock, reads, unknown };
}

const info = (type: string, argsSchema?: unknown): JobTypeInfo => ({
  type,
  nodes: ["n1"],
  seenAt: "2026-01-01T00:00:00Z",
  ...(argsSchema !== undefined ? { argsSchema } : {}),
});

describe("ArgsChecker", () => {
  it("parses args against the published JSON Schema, naming <root>.args.<field>", async () => {
    const { checker } = setup({ "email.send": info("email.send", emailSchema) });
    const ok = { type: "email.send", args: { to: "a@example.com", subject: "s" } };
    expect(await checker.check([{ def: ok }])).toEqual([]);
    const bad = { type: "email.send", args: { to: "nope", subject: "s" } };
    await expect(checker.check([{ def: ok }, { def: bad, root: "jobs.1" }])).rejects.toMatchObject({
      field: "jobs.1.args.to",
    });
    const extra = { type: "email.send", args: { to: "a@example.com", subject: "s", x: 1 } };
    const err = await checker.check([{ def: extra }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe("args");
  });

  it("warns once per unregistered type, counts each job; a type without a schema is unchecked", async () => {
    const { checker, unknown } = setup({ plain: info("plain") });
    const w = await checker.check([
      { def: { type: "nobody", args: {} } },
      { def: { type: "nobody", args: {} } },
      { def: { type: "plain", args: { anything: 1 } } },
    ]);
    expect(w).toEqual([expect.stringContaining('no worker has registered type "nobody"')]);
    expect(unknown).toEqual(["nobody", "nobody"]);
    await checker.check([{ def: { type: "nobody", args: {} } }], { countUnknown: false });
    expect(unknown).toHaveLength(2);
  });

  it("reads a type once per cacheMs", async () => {
    const { checker, clock, reads } = setup({ "email.send": info("email.send", emailSchema) });
    const def = { type: "email.send", args: { to: "a@example.com", subject: "s" } };
    await checker.check([{ def }, { def }]);
    await checker.check([{ def }]);
    expect(reads).toEqual(["email.send"]);
    clock.advance(1000);
    await checker.check([{ def }]);
    expect(reads).toEqual(["email.send", "email.send"]);
  });

  it("a registry that cannot be read: accepted unchecked with a warning, read again next time", async () => {
    const { checker, reads } = setup({ t: new Error("no responders") });
    expect(await checker.check([{ def: { type: "t", args: { x: 1 } } }])).toEqual([
      expect.stringContaining("registry could not be read"),
    ]);
    await checker.check([{ def: { type: "t", args: {} } }]);
    expect(reads).toEqual(["t", "t"]);
  });

  it("a schema with no zod form is accepted unchecked", async () => {
    const { checker } = setup({ odd: info("odd", { type: "object", $ref: "#/nowhere" }) });
    expect(await checker.check([{ def: { type: "odd", args: { x: 1 } } }])).toEqual([]);
  });
});
