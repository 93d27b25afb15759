/**
 * toJobView: the heap's later due time shows only when the heap holds the record's own revision. Right after
 * an update the heap may still hold the job before it (found by a CI run: the view of an update showed the
 * old cron's next fire).
 */
import { describe, expect, it } from "vitest";
import type { JobRecord } from "@taskjet/protocol";
import type { JobEntry } from "../src/view/jobEntry.js";
import { toJobView } from "../src/view/jobView.js";

const stored = "2026-11-28T12:00:00.000Z";
const heapDue = Date.parse("2027-01-01T00:00:00.000Z");
const record = {
  def: { id: "u1", tenantId: "t1", group: "default", jobType: "period", cron: "0 0 12 * * ?" },
  state: { status: "queuing", nextRunTime: stored },
} as unknown as JobRecord;
const entryAt = (revision: number) =>
  ({ revision, active: true, dueIsRetry: false, due: heapDue }) as unknown as JobEntry;

describe("toJobView", () => {
  it("shows the heap's later due time when the heap holds this revision", () => {
    expect(toJobView(record, 7, entryAt(7)).nextRunTime).toBe(new Date(heapDue).toISOString());
  });

  it("shows the stored next run time when the heap still holds an older revision", () => {
    expect(toJobView(record, 8, entryAt(7)).nextRunTime).toBe(stored);
  });
});
