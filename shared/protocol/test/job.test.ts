import { describe, expect, it } from "vitest";
import {
  parseJobInput,
  ValidationError,
  JobPatchSchema,
  parseOrThrow,
  type JobInput,
} from "@taskjet/protocol";

const base: JobInput = { name: "report", type: "console" };

function rejection(input: unknown): ValidationError {
  try {
    parseJobInput(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error(`expected a rejection for ${JSON.stringify(input)}`);
}

describe("job input schema", () => {
  it("applies the seed's defaults", () => {
    const job = parseJobInput(base);
    expect(job).toMatchObject({
      group: "default",
      jobType: "once",
      args: {},
      maxTryCount: 50,
      maxCount: 0,
      lockTimeoutSeconds: 0,
      priority: "normal",
      tenantId: "default",
      source: "user",
      cronDialect: "quartz",
      timeZone: "UTC",
      misfirePolicy: "fireOnce",
      overlapPolicy: "allow",
    });
  });

  it("accepts every job type with its required fields", () => {
    expect(parseJobInput({ ...base, jobType: "period", cron: "0/5 * * * * ? " }).cron).toBe("0/5 * * * * ? ");
    expect(parseJobInput({ ...base, jobType: "persistent", intervalSeconds: 10, maxCount: 3 }).maxCount).toBe(
      3,
    );
    expect(parseJobInput({ ...base, jobType: "once", intervalSeconds: 5 }).intervalSeconds).toBe(5);
  });

  it("normalises epoch milliseconds to ISO times", () => {
    const job = parseJobInput({ ...base, beginTime: 0, endTime: "2030-01-01T00:00:00+02:00" });
    expect(job.beginTime).toBe("1970-01-01T00:00:00.000Z");
  });

  // One case per field: each rejection must name the field.
  const cases: [string, Record<string, unknown>, string][] = [
    ["wrong type of name", { name: 42 }, "name"],
    ["empty name", { name: "" }, "name"],
    ["missing type", { type: undefined }, "type"],
    ["type with a line break", { type: "a\nb" }, "type"],
    ["id with a space", { id: "a b" }, "id"],
    ["group with a trailing space", { group: "g " }, "group"],
    ["args not an object", { args: [1, 2] }, "args"],
    ["unknown jobType", { jobType: "weekly" }, "jobType"],
    ["unknown priority", { priority: "urgent" }, "priority"],
    ["unknown misfire policy", { misfirePolicy: "sometimes" }, "misfirePolicy"],
    ["unknown overlap policy", { overlapPolicy: "queue" }, "overlapPolicy"],
    ["unknown dialect", { jobType: "period", cron: "* * * * * ?", cronDialect: "unix" }, "cronDialect"],
    ["bad cron", { jobType: "period", cron: "61 * * * * ?" }, "cron"],
    ["cron with 5 fields in quartz", { jobType: "period", cron: "*/5 * * * *" }, "cron"],
    ["bad zone", { jobType: "period", cron: "0 0 12 * * ?", timeZone: "Mars/Olympus" }, "timeZone"],
    ["missing cron for period", { jobType: "period" }, "cron"],
    ["cron on a once job", { cron: "* * * * * ?" }, "cron"],
    ["interval zero for persistent", { jobType: "persistent", intervalSeconds: 0 }, "intervalSeconds"],
    ["interval negative", { jobType: "persistent", intervalSeconds: -5 }, "intervalSeconds"],
    ["interval missing for persistent", { jobType: "persistent" }, "intervalSeconds"],
    ["interval as string", { jobType: "persistent", intervalSeconds: "10" }, "intervalSeconds"],
    ["negative maxCount", { maxCount: -1 }, "maxCount"],
    ["fractional maxCount", { maxCount: 1.5 }, "maxCount"],
    ["negative maxTryCount", { maxTryCount: -1 }, "maxTryCount"],
    ["negative tryCount-like lockTimeoutSeconds", { lockTimeoutSeconds: -3 }, "lockTimeoutSeconds"],
    ["negative timeoutSeconds", { timeoutSeconds: -1 }, "timeoutSeconds"],
    ["bad beginTime", { beginTime: "yesterday" }, "beginTime"],
    [
      "endTime before beginTime",
      { beginTime: "2030-01-02T00:00:00Z", endTime: "2030-01-01T00:00:00Z" },
      "endTime",
    ],
    ["unknown source", { source: "robot" }, "source"],
    ["nodeName with a dot", { nodeName: "node.a" }, "nodeName"],
    ["tenant with a space", { tenantId: "a b" }, "tenantId"],
    ["unknown field", { colour: "red" }, "(root)"],
    ["bad action url", { actions: [{ kind: "webhook", on: ["failed"], url: "ftp://x" }] }, "actions.0.url"],
    ["catch-up window zero", { catchUpWindowSeconds: 0 }, "catchUpWindowSeconds"],
  ];
  for (const [label, patch, field] of cases) {
    it(`rejects ${label}, naming ${field}`, () => {
      const err = rejection({ ...base, ...patch });
      expect(err.code).toBe("INVALID_ARGUMENT");
      expect(err.field).toBe(field);
      expect(err.toBody()).toMatchObject({ code: "INVALID_ARGUMENT", field, retryable: false });
    });
  }

  it("lists every problem, not only the first", () => {
    const err = rejection({ name: 1, type: "", maxCount: -1 });
    expect(err.issues.map((i) => i.field).sort()).toEqual(["maxCount", "name", "type"]);
  });

  it("prefixes paths with a root for batch inputs", () => {
    try {
      parseJobInput({ ...base, maxCount: -1 }, "jobs.3");
      throw new Error("unreachable");
    } catch (err) {
      expect((err as ValidationError).field).toBe("jobs.3.maxCount");
    }
  });

  it("patches may not change identity or job type", () => {
    expect(() => parseOrThrow(JobPatchSchema, { jobType: "period" })).toThrow(ValidationError);
    expect(parseOrThrow(JobPatchSchema, { description: "x" })).toEqual({ description: "x" });
  });
});
