/**
 * Retention of finished jobs (issue 12): the scheduler resolves each job's removeOnComplete / removeOnFail
 * when it accepts it (the job's own, else its type's, tenant's or the default), and the leader removes
 * finished jobs past it: `true` at once, `{ ageSeconds }` once older, `{ count }` beyond the newest N of the
 * tenant and type. Removed jobs leave the index (memory) and the store; their delete markers are purged
 * from the bucket's stream where the server allows it safely (nats-server 2.9.15+).
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { serverHas } from "@taskjet/nats";
import { describe, expect, it } from "vitest";
import type { JobState, QueueResult } from "@taskjet/protocol";
import type { SchedulerOptions } from "../src/index.js";
import {
  api,
  cleanups,
  iso,
  namespace,
  nc,
  readJob,
  startLeader,
  storeOf,
  testOptions,
  uniqueName,
  useNatsServer,
  waitFor,
  writeState,
} from "./harness.js";

useNatsServer();

async function leader(extra: SchedulerOptions = {}) {
  const prefix = uniqueName("ret");
  const s = await startLeader(testOptions(nc, prefix, { retentionSweepMs: 100_000, topology: {}, ...extra }));
  cleanups.push(() => s.stop());
  const ns = namespace(prefix);
  const queue = async (body: Record<string, unknown>, tenant = "default") =>
    (await api<QueueResult>(nc, prefix, "queue", { name: "n", type: "t", ...body }, { tenant })).job;
  /** finishes a job as a worker would: completed (or abandoned), `agoMs` ago */
  const finish = (id: string, how: "completed" | "abandoned", agoMs = 0, tenant = "default") => {
    const state: Partial<JobState> =
      how === "completed"
        ? { status: "completed", updatedAt: iso(Date.now() - agoMs) }
        : { status: "stopped", isAbandoned: true, updatedAt: iso(Date.now() - agoMs) };
    return writeState(nc, prefix, `${tenant}.default.${id}`, state);
  };
  const exists = async (id: string, tenant = "default") =>
    (await readJob(nc, prefix, `${tenant}.default.${id}`)) !== undefined;
  return { s, ns, queue, finish, exists };
}

describe("retention of finished jobs", () => {
  it("is resolved at acceptance: the job's own, else its type's, else its tenant's, else the default", async () => {
    const { queue } = await leader({
      retention: {
        removeOnComplete: { ageSeconds: 60 },
        types: { email: { removeOnComplete: true } },
        tenants: { acme: { removeOnComplete: { count: 5 }, removeOnFail: false } },
      },
    });
    const own = await queue({ id: "own", removeOnComplete: { count: 1 } });
    const byType = await queue({ id: "typed", type: "email" }, "acme");
    const byTenant = await queue({ id: "tenanted" }, "acme");
    const byDefault = await queue({ id: "plain" });
    expect(own.removeOnComplete).toEqual({ count: 1 });
    expect(byType.removeOnComplete).toBe(true);
    expect(byTenant.removeOnComplete).toEqual({ count: 5 });
    expect(byTenant.removeOnFail).toBe(false);
    expect(byDefault.removeOnComplete).toEqual({ ageSeconds: 60 });
    // the default's default is finite
    expect(byDefault.removeOnFail).toEqual({ ageSeconds: 7 * 86_400, count: 5_000 });
  });

  it("removes `true` at once, past ageSeconds, and beyond the newest `count`; keeps active and hand-stopped jobs", async () => {
    const { s, queue, finish, exists } = await leader();
    await queue({ id: "now", removeOnComplete: true });
    await queue({ id: "old", removeOnComplete: { ageSeconds: 60 } });
    await queue({ id: "young", removeOnComplete: { ageSeconds: 60 } });
    for (let i = 0; i < 5; i++) await queue({ id: `c${i}`, type: "counted", removeOnComplete: { count: 2 } });
    await queue({ id: "failed", removeOnFail: { count: 0 } });
    await queue({ id: "active", removeOnComplete: true });
    await queue({ id: "handStopped", removeOnFail: true });
    await finish("now", "completed");
    await finish("old", "completed", 120_000);
    await finish("young", "completed", 1_000);
    for (let i = 0; i < 5; i++) await finish(`c${i}`, "completed", 5_000 - i * 1000);
    await finish("failed", "abandoned");
    await writeState(nc, s.options.prefix, "default.default.handStopped", { status: "stopped" });
    await waitFor(() => s.index().finished().next().done === false, { message: "finished jobs seen" });
    await waitFor(async () => (await s.sweepFinished()) === 0 && !(await exists("now")), {
      message: "the sweep removed what was due",
    });
    expect(await exists("now")).toBe(false);
    expect(await exists("old")).toBe(false);
    expect(await exists("young")).toBe(true);
    // the two newest of type counted stay
    expect(await Promise.all([0, 1, 2, 3, 4].map((i) => exists(`c${i}`)))).toEqual([
      false,
      false,
      false,
      true,
      true,
    ]);
    expect(await exists("failed")).toBe(false);
    expect(await exists("active")).toBe(true);
    expect(await exists("handStopped")).toBe(true);
  });

  it("a job changed after it finished (started again) is not removed", async () => {
    const { s, queue, finish, exists } = await leader();
    await queue({ id: "again", removeOnFail: true });
    await finish("again", "abandoned");
    await waitFor(() => s.index().finished().next().done === false, { message: "finished job seen" });
    // started again before the sweep: the index's revision is stale, the removal's compare-and-set fails
    const entry = s.index().get("default.default.again")!;
    await writeState(nc, s.options.prefix, "default.default.again", {
      status: "queuing",
      isAbandoned: false,
    });
    await s.sweepFinished();
    expect(entry.revision).toBeGreaterThan(0);
    expect(await exists("again")).toBe(true);
  });

  it("finished jobs leave the index and, their delete markers purged, the bucket's stream", async () => {
    const { s, ns, queue, finish } = await leader({ retentionSweepMs: 200 });
    const n = 300;
    for (let i = 0; i < n; i++) await queue({ id: `j${i}`, removeOnComplete: true });
    expect(s.index().size).toBe(n);
    for (let i = 0; i < n; i++) await finish(`j${i}`, "completed");
    await waitFor(() => s.index().size === 0, { timeoutMs: 20_000, message: "the index emptied" });
    // no job is left in the store; each removal left a delete marker, which the leader purges
    // markerPurgeDelayMs (10 s) later where the server can do that safely (2.9.15+)
    expect(await (await storeOf(nc, s.options.prefix)).list()).toEqual([]);
    const jsm = await jetstreamManager(nc);
    const messages = async () => (await jsm.streams.info(`KV_${ns.buckets.jobs}`)).state.messages;
    if (serverHas(nc, "safeFilteredPurge")) {
      await waitFor(async () => (await messages()) === 0, {
        timeoutMs: 30_000,
        intervalMs: 500,
        message: "no message left in the job bucket's stream",
      });
    } else {
      expect(await messages()).toBe(n);
      expect(s.index().deleteMarkers().size).toBe(n);
    }
    // and a removed id can be queued again
    expect((await queue({ id: "j0" })).id).toBe("j0");
  }, 60_000);
});
