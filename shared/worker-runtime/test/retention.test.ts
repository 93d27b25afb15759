/**
 * A job whose run finishes it, with retention `true` for that end, is removed by the worker instead of
 * written (BullMQ's removeOnComplete / removeOnFail: true): one store operation, nothing left behind. The
 * run's events, run log and dead letter are kept.
 */
import { describe, expect, it } from "vitest";
import { NonRetryableError } from "@taskjet/worker-runtime";
import { env, useTestEnv } from "./helpers.js";

useTestEnv();

describe("retention true, applied by the worker", () => {
  it("a once job that succeeded is removed; its after event and run log stay", async () => {
    const w = env.worker({ node: "rt1" });
    w.register("gone", async () => "done");
    await w.start();
    const def = await env.job({ type: "gone", nodeName: "rt1", removeOnComplete: true });
    const success = w.events.next("run:success", (e) => e.fire.jobId === def.id);
    await env.fire(def);
    await success;
    await expect.poll(() => env.record(def), { timeout: 10_000 }).toBeUndefined();
    await expect
      .poll(async () => (await env.runLog(def)).map((e) => e.outcome), { timeout: 10_000 })
      .toEqual(["started", "succeeded"]);
  });

  it("a once job kept on completion (the default) is written completed", async () => {
    const w = env.worker({ node: "rt2" });
    w.register("kept", async () => "done");
    await w.start();
    const def = await env.job({ type: "kept", nodeName: "rt2", removeOnComplete: { count: 10 } });
    await env.fire(def);
    const done = await env.waitRecord(def, (j) => j.state.status === "completed", "completed");
    expect(done.state.result).toBe("done");
  });

  it("an abandoned job with removeOnFail true is removed, and its dead letter kept", async () => {
    const w = env.worker({ node: "rt3" });
    w.register("doomed", async () => {
      throw new NonRetryableError("no");
    });
    await w.start();
    const def = await env.job({ type: "doomed", nodeName: "rt3", removeOnFail: true });
    const abandoned = w.events.next("run:abandoned", (e) => e.fire.jobId === def.id);
    await env.fire(def);
    await abandoned;
    await expect.poll(() => env.record(def), { timeout: 10_000 }).toBeUndefined();
    await expect
      .poll(async () => (await env.deadLetters(def.tenantId, def.id)).length, { timeout: 10_000 })
      .toBe(1);
  });

  it("a failure with tries left is written (failedRetry), not removed", async () => {
    const w = env.worker({ node: "rt4" });
    w.register("flaky", async () => {
      throw new Error("again");
    });
    await w.start();
    const def = await env.job({ type: "flaky", nodeName: "rt4", removeOnFail: true, removeOnComplete: true });
    await env.fire(def);
    await env.waitRecord(def, (j) => j.state.status === "failedRetry", "failedRetry");
  });
});
