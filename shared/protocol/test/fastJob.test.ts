import { describe, expect, it } from "vitest";
import {
  FireMessageSchema,
  fastFireOf,
  fastJobMessage,
  fastJobMsgId,
  isImmediateOnce,
  namespace,
  parseFastJob,
  parseFastJobOnSubject,
  ValidationError,
} from "@taskjet/protocol";

const ns = namespace("tj");

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.field;
    throw err;
  }
  return undefined;
}

describe("fast-lane jobs", () => {
  it("addresses a job by its own tokens, with a deterministic message id", () => {
    const m = fastJobMessage(ns, "acme", { name: "n", type: "email.send", priority: "high" }, () => "gen1");
    expect(m.subject).toBe("tj.run.acme._any.email=2Esend.p5.gen1");
    expect(m.msgId).toBe("acme.gen1:q");
    expect(m.msgId).toBe(fastJobMsgId("acme", "gen1"));
    expect(m.payload).toEqual({
      name: "n",
      type: "email.send",
      priority: "high",
      id: "gen1",
      tenantId: "acme",
    });
    expect(m.def).toMatchObject({ id: "gen1", tenantId: "acme", jobType: "once", maxTryCount: 50 });
    expect(
      fastJobMessage(ns, "acme", { id: "mine", name: "n", type: "x", nodeName: "n1" }, () => "no").subject,
    ).toBe("tj.run.acme.n1.x.p3.mine");
  });

  it("tells immediate once jobs from the others", () => {
    expect(isImmediateOnce({ name: "n", type: "x" })).toBe(true);
    expect(isImmediateOnce({ name: "n", type: "x", jobType: "once" })).toBe(true);
    expect(isImmediateOnce({ name: "n", type: "x", delayMs: 5 })).toBe(false);
    expect(isImmediateOnce({ name: "n", type: "x", runAt: 5 })).toBe(false);
    expect(isImmediateOnce({ name: "n", type: "x", jobType: "period", cron: "* * * * * ?" })).toBe(false);
  });

  it("refuses what is not an immediate once job, naming the field", () => {
    const base = { id: "j", name: "n", type: "x" };
    expect(fieldOf(() => parseFastJob({ ...base, delayMs: 10 }, "t"))).toBe("delayMs");
    expect(fieldOf(() => parseFastJob({ ...base, beginTime: "2026-01-01T00:00:00Z" }, "t"))).toBe(
      "beginTime",
    );
    expect(fieldOf(() => parseFastJob({ ...base, intervalSeconds: 3 }, "t"))).toBe("intervalSeconds");
    expect(fieldOf(() => parseFastJob({ ...base, jobType: "persistent", intervalSeconds: 3 }, "t"))).toBe(
      "jobType",
    );
    expect(fieldOf(() => parseFastJob({ name: "n", type: "x" }, "t"))).toBe("id");
    expect(fieldOf(() => parseFastJob({ ...base, tenantId: "other" }, "t"))).toBe("tenantId");
    expect(fieldOf(() => parseFastJob({ ...base, bogus: 1 }, "t"))).toBe("(root)");
    expect(fieldOf(() => parseFastJob({ ...base, name: "" }, "t", "jobs.2"))).toBe("jobs.2.name");
  });

  it("checks a delivered job against its subject's tokens", () => {
    const job = { id: "j1", name: "n", type: "x", nodeName: "n1", priority: "low" };
    expect(parseFastJobOnSubject(job, "tj.run.acme.n1.x.p1.j1")).toMatchObject({
      tenantId: "acme",
      id: "j1",
    });
    expect(fieldOf(() => parseFastJobOnSubject(job, "tj.run.acme._any.x.p1.j1"))).toBe("nodeName");
    expect(fieldOf(() => parseFastJobOnSubject(job, "tj.run.acme.n1.y.p1.j1"))).toBe("type");
    expect(fieldOf(() => parseFastJobOnSubject(job, "tj.run.acme.n1.x.p3.j1"))).toBe("priority");
    expect(fieldOf(() => parseFastJobOnSubject(job, "tj.run.acme.n1.x.p1.j2"))).toBe("id");
    expect(
      fieldOf(() => parseFastJobOnSubject({ ...job, tenantId: "globex" }, "tj.run.acme.n1.x.p1.j1")),
    ).toBe("tenantId");
  });

  it("builds a valid fire whose nominal time is the acceptance", () => {
    const def = parseFastJob({ id: "j1", name: "n", type: "x", timeoutSeconds: 4 }, "acme");
    const fire = fastFireOf(def, Date.UTC(2026, 0, 1));
    expect(FireMessageSchema.parse(fire)).toEqual(fire);
    expect(fire).toMatchObject({
      fireId: `acme.j1:${Date.UTC(2026, 0, 1)}`,
      nominalTime: "2026-01-01T00:00:00.000Z",
      attempt: 1,
      reason: "schedule",
      last: true,
      trackRunning: false,
      timeoutSeconds: 4,
    });
  });
});
