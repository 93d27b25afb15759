import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineJob, isDefinedJob, jobInputOf } from "@taskjet/jobs";
import { ValidationError } from "@taskjet/protocol";

const sendEmail = defineJob("email.send", z.strictObject({ to: z.email(), subject: z.string() }), {
  priority: "high",
  group: "mail",
});

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).field;
  }
  return undefined;
}

describe("defineJob", () => {
  it("keeps the type as written, the schema and frozen defaults", () => {
    expect(sendEmail.type).toBe("email.send");
    expect(sendEmail.defaults).toEqual({ priority: "high", group: "mail" });
    expect(Object.isFrozen(sendEmail)).toBe(true);
    expect(Object.isFrozen(sendEmail.defaults)).toBe(true);
    expect(isDefinedJob(sendEmail)).toBe(true);
    expect(isDefinedJob({ name: "n", type: "t" })).toBe(false);
  });

  it("refuses a type that is not a printable name, naming type", () => {
    expect(fieldOf(() => defineJob("bad\ntype", z.object({})))).toBe("type");
    expect(fieldOf(() => defineJob("", z.object({})))).toBe("type");
  });

  it("jobInputOf: defaults, then the call's options; args checked naming args.<field>", () => {
    expect(jobInputOf(sendEmail, { to: "a@example.com", subject: "hi" }, { priority: "low" })).toEqual({
      name: "email.send",
      type: "email.send",
      group: "mail",
      priority: "low",
      args: { to: "a@example.com", subject: "hi" },
    });
    expect(fieldOf(() => jobInputOf(sendEmail, { to: "nope", subject: "hi" }))).toBe("args.to");
    // a caller outside TypeScript may still send anything: the schema has the last word
    expect(fieldOf(() => jobInputOf(sendEmail, { to: "a@example.com" } as never))).toBe("args.subject");
    expect(fieldOf(() => jobInputOf(sendEmail, { to: "a@example.com", subject: "s", x: 1 } as never))).toBe(
      "args",
    );
  });
});
