/**
 * Limits that need no configuration: args nesting (job schema), request nesting (decodeRequest), and the
 * retryable RESOURCE_EXHAUSTED code. Depths far beyond the stack's reach must come back as typed errors.
 */
import { describe, expect, it } from "vitest";
import {
  decodeRequest,
  DecodeError,
  encode,
  errorFromBody,
  JobPatchSchema,
  MAX_ARGS_DEPTH,
  MAX_PAYLOAD_DEPTH,
  parseJobInput,
  parseOrThrow,
  pathDeeperThan,
  ResourceExhaustedError,
  ValidationError,
} from "@taskjet/protocol";

/** `{ a: { a: ... leaf } }` with `levels` objects, built without recursion. */
function nested(levels: number, leaf: unknown = 1): Record<string, unknown> {
  let v: unknown = leaf;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v as Record<string, unknown>;
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a throw");
}

const base = { name: "deep", type: "console" };

describe("pathDeeperThan", () => {
  it("measures a value 200,000 levels deep without overflowing the stack", () => {
    const path = pathDeeperThan(nested(200_000), 64);
    expect(path).toHaveLength(64);
    expect(path?.every((k) => k === "a")).toBe(true);
  });
  it("counts the value itself as level 1, arrays as levels, and leaves typed arrays alone", () => {
    expect(pathDeeperThan(nested(3), 3)).toBeUndefined();
    expect(pathDeeperThan(nested(4), 3)).toEqual(["a", "a", "a"]);
    expect(pathDeeperThan({ x: [[1]] }, 2)).toEqual(["x", 0]);
    expect(pathDeeperThan({ b: new Uint8Array(10) }, 1)).toBeUndefined();
    expect(pathDeeperThan("flat", 0)).toBeUndefined();
  });
});

describe("args nesting", () => {
  it(`accepts args ${MAX_ARGS_DEPTH} levels deep and refuses one more, naming args`, () => {
    expect(parseJobInput({ ...base, args: nested(MAX_ARGS_DEPTH) }).args).toBeDefined();
    const err = thrown(() => parseJobInput({ ...base, args: nested(MAX_ARGS_DEPTH + 1) }));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ code: "INVALID_ARGUMENT", field: "args" });
    expect(err.message).toMatch(/deeper than 32 levels \(at args\.a\.a\.a\.…\)/);
  });
  it("refuses args 20,000 levels deep as INVALID_ARGUMENT, in a batch and in a patch too", () => {
    const deep = nested(20_000);
    expect(thrown(() => parseJobInput({ ...base, args: deep }, "jobs.3"))).toMatchObject({
      field: "jobs.3.args",
    });
    expect(thrown(() => parseOrThrow(JobPatchSchema, { args: deep }, "patch"))).toMatchObject({
      code: "INVALID_ARGUMENT",
      field: "patch.args",
    });
  });
});

describe("decodeRequest", () => {
  it("refuses a JSON body nested 20,000 levels under args, naming args", () => {
    // as text: JSON.stringify itself overflows at this depth
    const text = `{"name":"deep","type":"console","args":${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}}`;
    const body = new TextEncoder().encode(text);
    const err = thrown(() => decodeRequest(body, "json"));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ code: "INVALID_ARGUMENT", field: "args" });
    expect(err.message).toContain(`deeper than ${MAX_PAYLOAD_DEPTH} levels`);
  });
  it("refuses msgpack nested too deep for the unpacker as INVALID_ARGUMENT, not a stack overflow", () => {
    // fixmap{ "a": fixmap{ "a": ... 1 } }, 20,000 levels: msgpackr recurses per level
    const levels = 20_000;
    const bytes = new Uint8Array(levels * 3 + 1);
    for (let i = 0; i < levels; i++) bytes.set([0x81, 0xa1, 0x61], i * 3);
    bytes[levels * 3] = 1;
    expect(thrown(() => decodeRequest(bytes))).toMatchObject({ code: "INVALID_ARGUMENT", field: "(body)" });
  });
  it("passes a shallow body through and still reports bad bytes as DECODE_ERROR", () => {
    expect(decodeRequest(encode({ id: "x", args: nested(10) }))).toEqual({ id: "x", args: nested(10) });
    expect(() => decodeRequest(new TextEncoder().encode("{nope"), "json")).toThrow(DecodeError);
  });
});

describe("RESOURCE_EXHAUSTED", () => {
  it("is retryable and survives the wire as its class", () => {
    const err = new ResourceExhaustedError("the job store is full");
    expect(err.toBody()).toEqual({
      code: "RESOURCE_EXHAUSTED",
      message: "the job store is full",
      retryable: true,
    });
    expect(errorFromBody(err.toBody())).toBeInstanceOf(ResourceExhaustedError);
  });
});
