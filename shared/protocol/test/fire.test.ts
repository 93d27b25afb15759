/**
 * parseFire's fast check (wellFormedFire) against FireMessageSchema: whatever the check passes, zod passes
 * unchanged; the fires a leader publishes take the fast way; everything else gets zod's error.
 */
import { describe, expect, it } from "vitest";
import {
  DONE_RUNS_KEPT,
  FireMessageSchema,
  parseFire,
  runKeyOf,
  withDoneRun,
  withDoneRuns,
  buildFire,
  ValidationError,
  wellFormedFire,
  type FireMessage,
} from "../src/index.js";

const base: FireMessage = {
  fireId: "default.j1:1795000000000",
  jobId: "j1",
  tenantId: "default",
  group: "default",
  name: "tick 1",
  type: "tick",
  jobType: "period",
  args: { i: 1, nested: { a: [1, 2] } },
  priority: "normal",
  nominalTime: "2026-11-28T03:00:00.000Z",
  firedAt: "2026-11-28T02:59:59.012Z",
  attempt: 1,
  reason: "schedule",
  epoch: 7,
  maxTryCount: 50,
  timeoutSeconds: 0,
  lockTimeoutSeconds: 0,
  overlapPolicy: "allow",
  last: false,
  trackRunning: false,
};
const full: FireMessage = {
  ...base,
  nodeName: "node-1",
  nextNominalTime: "2026-11-28T03:00:01.000+01:00",
  revision: 42,
};

const odd: unknown[] = [
  undefined,
  null,
  "",
  "x",
  "a.b",
  "x".repeat(65),
  "x".repeat(129),
  0,
  -1,
  1,
  1.5,
  NaN,
  Infinity,
  2 ** 53,
  true,
  [],
  {},
  { a: 1 },
  Object.create(null),
  "2026-11-28T03:00:00Z",
  "2026-11-28T03:00:00+02:00",
  "2026-11-28T03:00:00",
  "2026-11-28",
  "2026-13-01T00:00:00Z",
  "once",
  "high",
  "retry",
  "replace",
  "nope",
];

/** Every field of `from` replaced by every odd value, and removed. */
function variants(from: FireMessage): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const field of Object.keys(FireMessageSchema.shape)) {
    for (const v of odd) out.push({ ...from, [field]: v });
    const without: Record<string, unknown> = { ...from };
    delete without[field];
    out.push(without);
  }
  return out;
}

const zodAccepts = (v: unknown) => FireMessageSchema.safeParse(v);

describe("parseFire", () => {
  it("takes the fast way for the fires a leader publishes, and returns them as zod would", () => {
    for (const f of [base, full]) {
      expect(wellFormedFire(f)).toBe(true);
      expect(parseFire(f)).toBe(f);
      expect(zodAccepts(f)).toEqual({ success: true, data: f });
    }
  });

  it("never passes what zod rejects or would change (every field, every odd value)", () => {
    const cases = [...variants(base), ...variants(full)];
    let fast = 0;
    for (const v of cases) {
      if (!wellFormedFire(v)) continue;
      fast++;
      const z = zodAccepts(v);
      expect(z.success, JSON.stringify(v)).toBe(true);
      expect(z.data).toEqual(v);
    }
    // the odd values that are still valid (another enum member, another valid time, an empty args) go fast
    expect(fast).toBeGreaterThan(20);
  });

  it("leaves fires with unknown fields, other prototypes and non-objects to zod", () => {
    expect(wellFormedFire({ ...base, extra: 1 })).toBe(false);
    expect(parseFire({ ...base, extra: 1 })).toEqual(base); // zod strips it
    expect(wellFormedFire(JSON.parse(`{"__proto__": {"x": 1}}`))).toBe(false);
    expect(wellFormedFire(Object.assign(Object.create(null), base))).toBe(false);
    for (const v of [null, undefined, "fire", 1, [base]]) expect(wellFormedFire(v)).toBe(false);
  });

  it("throws zod's typed error naming the field for a malformed fire", () => {
    const bad = { ...base, attempt: 0 };
    expect(() => parseFire(bad)).toThrow(ValidationError);
    try {
      parseFire(bad);
    } catch (err) {
      expect((err as ValidationError).field).toBe("attempt");
    }
  });
});

describe("doneRuns", () => {
  it("a run key is the fire's nominal ms, with :a<n> for a retry", () => {
    expect(runKeyOf({ fireId: "t.job-1:1767225600000", attempt: 1 })).toBe("1767225600000");
    expect(runKeyOf({ fireId: "t.job-1:1767225600000", attempt: 3 })).toBe("1767225600000:a3");
  });

  it("keeps the newest DONE_RUNS_KEPT keys, newest last, each once", () => {
    let done: string[] | undefined;
    for (let i = 0; i < DONE_RUNS_KEPT + 10; i++) done = withDoneRun(done, String(i));
    expect(done).toHaveLength(DONE_RUNS_KEPT);
    expect(done![0]).toBe("10");
    expect(done!.at(-1)).toBe(String(DONE_RUNS_KEPT + 9));
    // a key seen again moves to the end instead of standing twice
    done = withDoneRun(done, "10");
    expect(done.filter((k) => k === "10")).toHaveLength(1);
    expect(done.at(-1)).toBe("10");
    expect(done).toHaveLength(DONE_RUNS_KEPT);
  });

  it("withDoneRuns folds many keys in as withDoneRun does one by one", () => {
    // deterministic pseudo-random cases: repeats inside the batch, keys already kept, overflow past the bound
    let seed = 7;
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let c = 0; c < 300; c++) {
      const start =
        c % 5 === 0 ? undefined : Array.from({ length: next(DONE_RUNS_KEPT + 1) }, (_, i) => `k${i}`);
      const keys = Array.from({ length: next(90) }, () => `k${next(120)}`);
      let oneByOne = start;
      for (const k of keys) oneByOne = withDoneRun(oneByOne, k);
      expect(withDoneRuns(start, keys)).toEqual(oneByOne ?? []);
    }
  });
});

describe("buildFire", () => {
  const def = {
    id: "j1",
    tenantId: "default",
    group: "reports",
    name: "nightly",
    type: "email.send",
    jobType: "period",
    args: { to: "a@b.c" },
    priority: "normal",
    maxTryCount: 3,
    timeoutSeconds: 0,
    lockTimeoutSeconds: 0,
    overlapPolicy: "allow",
  } as const;

  it("makes a fire the worker's fast check and the schema both accept", () => {
    const fire = buildFire(
      { ...def, nodeName: "n1" },
      {
        nominalMs: 1_795_000_000_000,
        attempt: 2,
        reason: "retry",
        last: false,
        nextNominalMs: 1_795_000_001_000,
      },
      { epoch: 7, firedAtIso: "2026-11-18T09:46:40.000Z", revision: 12 },
    );
    expect(wellFormedFire(fire)).toBe(true);
    expect(FireMessageSchema.parse(fire)).toEqual(fire);
    expect(fire).toMatchObject({
      fireId: "default.j1:1795000000000",
      nominalTime: "2026-11-18T11:06:40.000Z",
      nextNominalTime: "2026-11-18T11:06:41.000Z",
      nodeName: "n1",
      attempt: 2,
      epoch: 7,
      revision: 12,
      trackRunning: false,
    });
  });

  it("tracks running for a lock or an overlap policy, and leaves out what is not there", () => {
    const plan = { nominalMs: 1_795_000_000_000, attempt: 1, reason: "schedule", last: true } as const;
    const stamp = { epoch: 0, firedAtIso: "2026-11-18T09:46:40.000Z" };
    expect(buildFire({ ...def, overlapPolicy: "skip" }, plan, stamp).trackRunning).toBe(true);
    expect(buildFire({ ...def, lockTimeoutSeconds: 5 }, plan, stamp).trackRunning).toBe(true);
    const bare = buildFire(def, plan, stamp);
    expect(Object.keys(bare)).not.toContain("nodeName");
    expect(Object.keys(bare)).not.toContain("nextNominalTime");
    expect(Object.keys(bare)).not.toContain("revision");
    // the ISO memo answers each instant with its own string, whatever came before
    for (const ms of [5_000, 6_000, 5_000, 7_000, 6_000])
      expect(buildFire(def, { ...plan, nominalMs: ms }, stamp).nominalTime).toBe(new Date(ms).toISOString());
  });
});
