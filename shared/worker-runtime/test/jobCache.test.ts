import { describe, expect, it } from "vitest";
import { encode, type JobDefinition } from "@taskjet/protocol";
import { waitFor } from "@taskjet/testing";
import type { Worker } from "@taskjet/worker-runtime";
import { env, server, useTestEnv } from "./helpers.js";

useTestEnv();

/** A worker counting the runs of a per-minute persistent job, and the job, after one run from the store. */
async function afterFirstRun(node: string, opts: { jobCacheSize?: number } = {}) {
  const w = env.worker({ node, ...opts });
  const args: unknown[] = [];
  // the job as the run saw it (the fire carries its own copy of the args)
  w.register("tick", async (ctx) => void args.push(ctx.job.record.def.args["v"]));
  await w.start();
  const def = await env.job({ type: "tick", jobType: "persistent", intervalSeconds: 60, args: { v: 1 } });
  const created = (await env.record(def))!.revision;
  const t0 = Date.now() - 60_000;
  await env.fire(def, { nominalTime: new Date(t0), revision: created, last: false });
  await waitFor(() => args.length === 1, { message: "first run" });
  await env.waitRecord(def, (j) => j.state.triggerCount === 1, "first run stored");
  return { w, def, args, created, t0 };
}

function fireAgain(def: JobDefinition, t0: number, n: number, revision: number) {
  return env.fire(def, { nominalTime: new Date(t0 + n * 1000), revision, last: false });
}

const skipped = (w: Worker, def: JobDefinition) =>
  w.events.next("run:skipped", (e) => e.fire.jobId === def.id, 10_000);

describe("the worker's copy of a recurring job (jobCacheSize)", () => {
  it("runs later fires planned from an older or the same revision without reading the job", async () => {
    const { w, def, args, created, t0 } = await afterFirstRun("c1");
    const hits = w.jobCacheHits;
    await fireAgain(def, t0, 1, created);
    await waitFor(() => args.length === 2, { message: "second run" });
    expect(w.jobCacheHits).toBe(hits + 1);
    // the copy is the job as this worker wrote it: the state goes on counting
    const job = await env.waitRecord(def, (j) => j.state.triggerCount === 2, "second run stored");
    expect(job.state.status).toBe("queuing");
  });

  it("reads the job when the fire was planned from a newer revision than the copy", async () => {
    const { w, def, args, t0 } = await afterFirstRun("c2");
    const changed = await env.store.mutate(env.ns.jobKey(def), (j) => ({
      ...j,
      def: { ...j.def, args: { v: 2 } },
    }));
    const hits = w.jobCacheHits;
    await fireAgain(def, t0, 1, changed.revision);
    await waitFor(() => args.length === 2, { message: "second run" });
    expect(args).toEqual([1, 2]);
    expect(w.jobCacheHits).toBe(hits);
  });

  it("drops the copy on a pause's interrupt: a fire published before the pause is skipped", async () => {
    const { w, def, args, created, t0 } = await afterFirstRun("c3");
    // as the API pauses: write the status, then interrupt the job on every node
    await env.store.mutate(env.ns.jobKey(def), (j) => ({ ...j, state: { ...j.state, status: "paused" } }));
    env.nc.publish(
      env.ns.ctl("_all"),
      encode({ jobId: def.id, tenantId: def.tenantId, fireId: "*", reason: "paused" }),
    );
    // one connection, in order: the worker has the interrupt before it can pull the fire published after it
    const skip = skipped(w, def);
    await fireAgain(def, t0, 1, created); // planned before the pause
    expect((await skip).reason).toBe("paused");
    expect(args).toEqual([1]);
  });

  it.skipIf(process.env["NATS_URL"] !== undefined)(
    "drops every copy when the connection drops (interrupts sent meanwhile are lost)",
    async () => {
      const { w, def, args, created, t0 } = await afterFirstRun("c4");
      // paused with no interrupt to this worker: as if it was sent while the worker was away
      await env.store.mutate(env.ns.jobKey(def), (j) => ({ ...j, state: { ...j.state, status: "paused" } }));
      const workerBack = w.events.next("worker:reconnect", () => true, 30_000);
      const testBack = (async () => {
        for await (const s of env.nc.status()) if (s.type === "reconnect") return;
      })();
      await server.restart();
      await Promise.all([workerBack, testBack]);
      const skip = skipped(w, def);
      await waitFor(() => fireAgain(def, t0, 1, created).then(() => true), {
        message: "publish after restart",
        timeoutMs: 20_000,
      });
      expect((await skip).reason).toBe("paused");
      expect(args).toEqual([1]);
    },
  );

  it("jobCacheSize 0 reads the job before every run", async () => {
    const { w, def, args, created, t0 } = await afterFirstRun("c5", { jobCacheSize: 0 });
    await fireAgain(def, t0, 1, created);
    await waitFor(() => args.length === 2, { message: "second run" });
    expect(w.jobCacheHits).toBe(0);
  });
});
