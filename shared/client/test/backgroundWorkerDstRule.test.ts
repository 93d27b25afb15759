/**
 * BackgroundWorkerManager's DST rule: the seed's Quartz periods run with `dstRule: "quartz"` (as Quartz),
 * standard periods with the default rule, and a stored worker with another rule is updated. The scheduler
 * here is a recorder: this checks what the facade asks for; client.test.ts runs the facade on a real stack.
 */
import { describe, expect, it } from "vitest";
import { BackgroundWorkerManager, type JobScheduler } from "@taskjet/client";
import { parseJobInput, type JobInput, type JobPatch } from "@taskjet/protocol";

function recorder(stored?: Partial<JobInput>) {
  const queued: JobInput[] = [];
  const patches: JobPatch[] = [];
  const scheduler = {
    queue: async (job: JobInput) => {
      queued.push(job);
      const view = { ...parseJobInput(job), ...stored };
      return { id: job.id!, created: stored === undefined, job: view };
    },
    update: async (_id: string, patch: JobPatch) => {
      patches.push(patch);
      return { ...parseJobInput(queued[0]!), ...patch };
    },
  } as unknown as JobScheduler;
  return { scheduler, queued, patches };
}

const doWork = () => undefined;

describe("BackgroundWorkerManager: DST rule of cron periods", () => {
  it("a Quartz period (the seed's strings) uses the quartz rule", async () => {
    const r = recorder();
    await new BackgroundWorkerManager(r.scheduler).add({ name: "w", period: "0/5 * * * * ? ", doWork });
    expect(r.queued[0]).toMatchObject({ cronDialect: "quartz", dstRule: "quartz" });
  });
  it("a standard period keeps the default rule; an explicit rule wins", async () => {
    const r = recorder();
    await new BackgroundWorkerManager(r.scheduler).add({ name: "s", period: "*/5 * * * *", doWork });
    await new BackgroundWorkerManager(r.scheduler).add({
      name: "x",
      period: "0 0 2 * * ?",
      doWork,
      dstRule: "no-wildcard",
    });
    expect(r.queued.map((j) => j.dstRule)).toEqual(["single-value", "no-wildcard"]);
  });
  it("a worker stored with the old default rule is updated to the quartz rule", async () => {
    const r = recorder({ dstRule: "single-value" });
    const added = await new BackgroundWorkerManager(r.scheduler).add({
      name: "w",
      period: "0 0/10 * * * ? *",
      doWork,
    });
    expect(added.updated).toBe(true);
    expect(r.patches).toEqual([{ dstRule: "quartz" }]);
  });
});
