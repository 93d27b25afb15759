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
