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
  parseFastJobStrict,
  simpleFastJob,
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

  it("the field-by-field check of simple jobs returns what zod returns, and leaves everything else to zod", () => {
    const simple = [
      { id: "a", name: "n", type: "x" },
      { id: "a", name: "n", type: "email.send", group: "Billing: EU", args: { to: "x", n: [1, { d: 2 }] } },
      { id: "a", name: "n", type: "x", priority: "high", nodeName: "n1", tenantId: "t", jobType: "once" },
      { id: "a", name: "n", type: "x", maxTryCount: 0, timeoutSeconds: 5, lockTimeoutSeconds: 3 },
      { id: "a", name: "n", type: "x", removeOnComplete: true, removeOnFail: false, description: "d" },
    ];
    for (const job of simple) {
      const fast = simpleFastJob(job, "t");
      expect(fast, JSON.stringify(job)).toBeDefined();
      expect(fast).toEqual(parseFastJobStrict(job, "t"));
    }
    // not simple: zod decides (valid ones it accepts, invalid ones it names)
    const others: unknown[] = [
      { id: "a", name: "n", type: "x", removeOnComplete: { count: 5 } },
      { id: "a", name: "n", type: "x", actions: [] },
      { id: "a", name: "n", type: "x", tenantId: "other" },
      { id: "a", name: "", type: "x" },
      { id: "a b", name: "n", type: "x" },
      { id: "a", name: "n", type: "x", priority: "urgent" },
      { id: "a", name: "n", type: "x", maxTryCount: 1.5 },
      { id: "a", name: "n", type: "x", maxTryCount: -1 },
      { id: "a", name: "n", type: " x" },
      { id: "a", name: "n", type: "x", args: [] },
      { id: "a", name: "n", type: "x", args: new Map() },
      { id: "a", name: "n", type: "x", delayMs: 5 },
      { id: "a", name: "n", type: "x", jobType: "persistent" },
      { name: "n", type: "x" },
      Object.assign(Object.create({ inherited: 1 }), { id: "a", name: "n", type: "x" }),
      "a string",
      null,
    ];
    for (const job of others) expect(simpleFastJob(job, "t"), JSON.stringify(job)).toBeUndefined();
    expect(parseFastJob(others[0], "t").removeOnComplete).toEqual({ count: 5 });
    expect(fieldOf(() => parseFastJob(others[3], "t"))).toBe("name");
    expect(fieldOf(() => parseFastJob(others[5], "t"))).toBe("priority");
    // args nested past the limit: refused by both
    let deep: Record<string, unknown> = {};
    const args = deep;
    for (let i = 0; i < 40; i++) deep = (deep["d"] = {}) as Record<string, unknown>;
    expect(simpleFastJob({ id: "a", name: "n", type: "x", args }, "t")).toBeUndefined();
    expect(fieldOf(() => parseFastJob({ id: "a", name: "n", type: "x", args }, "t"))).toBe("args");
  });
});
