import { describe, expect, it } from "vitest";
import { decode, encode, initialState, parseJobInput, type JobRecord } from "@taskjet/protocol";
import { fieldsOf, scanJobFields } from "../src/view/jobFields.js";

/** A record as anything may have stored it: a valid definition with `input` laid over it unchecked. */
function record(input: Record<string, unknown>, state: Record<string, unknown> = {}): JobRecord {
  const def = { ...parseJobInput({ name: "n", type: "t" }), id: "i", ...input };
  return { def, state: { ...initialState("2026-03-02T10:00:00.123Z"), ...state } } as JobRecord;
}

describe("scanJobFields", () => {
  const cases: [string, JobRecord][] = [
    ["a period job", record({ jobType: "period", cron: "0 0 3 1 1 ?", timeZone: "Europe/Berlin" })],
    [
      "a persistent job with times, runs and a retry",
      record(
        {
          jobType: "persistent",
          intervalSeconds: 1.5,
          beginTime: "2026-03-02T10:00:00.000Z",
          endTime: "2027-01-01T00:00:00Z",
          maxCount: 70_000,
          nodeName: "n1",
          overlapPolicy: "skip",
          lockTimeoutSeconds: 2 ** 33,
        },
        {
          status: "running",
          triggerCount: -5,
          tryCount: 3,
          running: [{ runId: "r1" }, { runId: "r2" }],
          lastFireTime: "2024-02-29T23:59:59.999Z",
          nextRunTime: "2026-02-29T10:00:00.000Z", // not a date: through Date.parse, like the slow path
          retryAt: "soon",
          buffered: "2026-03-02T10:00:01.000+02:00",
        },
      ),
    ],
    [
      "times in toISOString's form with a non-digit in them",
      record(
        {},
        {
          createdAt: "202X-03-02T10:00:00.000Z",
          nextRunTime: "2026-03-02T10:00:0X.000Z",
          lastFireTime: "2026-03-02T10:00:00.00XZ",
        },
      ),
    ],
    [
      "a finished job with its retention settings (what the retention sweep reads)",
      record(
        { removeOnComplete: { ageSeconds: 86_400, count: 1_000 }, removeOnFail: false },
        { status: "completed", updatedAt: "2026-03-02T10:00:05.000Z" },
      ),
    ],
    [
      "an abandoned job, retention true and a setting with one field",
      record(
        { removeOnComplete: true, removeOnFail: { count: 3 } },
        { status: "stopped", isAbandoned: true, updatedAt: "2026-03-02T10:00:05.000Z" },
      ),
    ],
    ["fields left undefined", { ...record({}), state: { ...initialState("x"), retryAt: undefined } }],
    [
      "a long unicode name",
      record({ name: "ü".repeat(300), args: { deep: [1, { x: "y" }, null, true, 2.5] } }),
    ],
  ];
  for (const [name, r] of cases) {
    it(`reads the same fields as the decoder: ${name}`, () => {
      const bytes = encode(r);
      expect(scanJobFields(bytes)).toEqual(fieldsOf(decode(bytes) as JobRecord));
    });
  }

  it("leaves anything but the plain shape to the decoder", () => {
    const plain = encode(record({}));
    expect(scanJobFields(plain)).toBeDefined();
    expect(scanJobFields(plain.subarray(0, plain.length - 1))).toBeUndefined(); // truncated
    expect(scanJobFields(new Uint8Array([...plain, 0]))).toBeUndefined(); // trailing bytes
    expect(scanJobFields(new Uint8Array([0xc1]))).toBeUndefined();
    expect(scanJobFields(encode({ def: {} }))).toBeUndefined(); // no state
    expect(scanJobFields(encode({ def: { maxCount: null }, state: {} }))).toBeUndefined(); // nil
    expect(scanJobFields(encode({ def: { maxCount: "3" }, state: {} }))).toBeUndefined(); // wrong type
    expect(scanJobFields(encode([1, 2]))).toBeUndefined();
    // a retention setting of another shape: the decoder decides
    expect(scanJobFields(encode(record({ removeOnComplete: { ageSeconds: 1, other: 2 } })))).toBeUndefined();
    expect(scanJobFields(encode(record({ removeOnComplete: "yes" })))).toBeUndefined();
  });
});
