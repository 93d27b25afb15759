import { describe, expect, it } from "vitest";
import { errorLine, NotFoundError, parseOrThrow, ValidationError } from "@taskjet/protocol";
import { z } from "zod";

describe("errorLine", () => {
  it("prints the code, the field and the message once", () => {
    expect(
      errorLine(new ValidationError("concurrency must be a whole number", { field: "concurrency" })),
    ).toBe("error INVALID_ARGUMENT (concurrency): concurrency must be a whole number");
    expect(errorLine(new NotFoundError("no such job"))).toBe("error NOT_FOUND: no such job");
  });

  it("does not repeat a field the message starts with (zod issues are prefixed with their path)", () => {
    let err: unknown;
    try {
      parseOrThrow(z.object({ size: z.number().nonnegative() }), { size: -1 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    const line = errorLine(err as ValidationError);
    expect(line).toMatch(/^error INVALID_ARGUMENT \(size\): /);
    expect(line).not.toMatch(/\(size\): size:/);
  });
});

describe("ValidationError details", () => {
  it("always carries details.issues: a single check gives one {field, message} item", () => {
    const one = new ValidationError('tenantId: "b" does not match the subject', { field: "tenantId" });
    expect(one.toBody().details).toEqual({
      issues: [{ field: "tenantId", message: '"b" does not match the subject' }],
    });
    expect(new ValidationError("the body must be a map").toBody().details).toEqual({
      issues: [{ field: "(root)", message: "the body must be a map" }],
    });
    // other details sit beside the issues
    expect(
      new ValidationError("args: too big", { field: "args", details: { bytes: 9 } }).toBody().details,
    ).toEqual({ issues: [{ field: "args", message: "too big" }], bytes: 9 });
  });

  it("keeps every schema issue", () => {
    let err: unknown;
    try {
      parseOrThrow(z.strictObject({ a: z.string(), b: z.number() }), { a: 1, b: "x" });
    } catch (e) {
      err = e;
    }
    expect((err as ValidationError).toBody().details?.["issues"]).toEqual([
      { field: "a", message: expect.any(String) },
      { field: "b", message: expect.any(String) },
    ]);
  });
});
