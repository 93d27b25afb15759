/** A job's `dstRule: "quartz"` at the edge: accepted with the quartz dialect, refused (naming the field) otherwise. */
import { describe, expect, it } from "vitest";
import { parseJobInput, ValidationError, type JobInput } from "@taskjet/protocol";

const job: JobInput = { name: "report", type: "console", jobType: "period", cron: "0 0/10 * * * ? *" };

function rejection(input: unknown): ValidationError {
  try {
    parseJobInput(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error(`expected a rejection for ${JSON.stringify(input)}`);
}

describe("job input: the quartz DST rule", () => {
  it("is accepted with the quartz dialect", () => {
    expect(parseJobInput({ ...job, dstRule: "quartz", timeZone: "Europe/Berlin" }).dstRule).toBe("quartz");
  });
  it("is refused with the standard dialect, naming dstRule", () => {
    const err = rejection({ ...job, cron: "*/10 * * * *", cronDialect: "standard", dstRule: "quartz" });
    expect(err.code).toBe("INVALID_ARGUMENT");
    expect(err.field).toBe("dstRule");
    expect(err.message).toMatch(/needs cronDialect "quartz"/);
  });
  it("a Quartz expression with both day fields is refused, naming cron", () => {
    const err = rejection({ ...job, cron: "0 0 12 1 * MON", dstRule: "quartz" });
    expect(err.field).toBe("cron");
    expect(err.message).toMatch(/exactly one of day-of-month and day-of-week/);
  });
});
