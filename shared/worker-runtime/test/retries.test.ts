import { describe, expect, it } from "vitest";
import type { Msg } from "@nats-io/nats-core";
import { z } from "zod";
import { waitFor } from "@taskjet/testing";
import { backoffMs, NonRetryableError, RetryAfterError } from "@taskjet/worker-runtime";
import { env, useTestEnv } from "./helpers.js";

useTestEnv();

describe("backoff", () => {
  it("is min(base * 2^(n-1), max) * (0.5..1.5)", () => {
    const b = { baseMs: 1000, maxMs: 3_600_000 };
    expect(backoffMs(1, { ...b, random: () => 0 })).toBe(500);
    expect(backoffMs(1, { ...b, random: () => 0.5 })).toBe(1000);
    expect(backoffMs(3, { ...b, random: () => 0.5 })).toBe(4000);
    expect(backoffMs(3, { ...b, random: () => 0.999999 })).toBe(6000);
    expect(backoffMs(40, { ...b, random: () => 0.5 })).toBe(3_600_000);
  });
});

describe("failures", () => {
  it("a failed once job is failedRetry with persisted backoff; after maxTryCount it is abandoned and dead-lettered", async () => {
    const w = env.worker({ node: "r1" });
    w.register("flaky", async (ctx) => {
      throw new Error(`boom ${ctx.attempt}`);
    });
    await w.start();
    const def = await env.job({ type: "flaky", maxTryCount: 3 });
    const deadletterEvents: Msg[] = [];
    const sub = env.nc.subscribe(env.ns.event(def, "deadletter"), {
      callback: (_e, m) => void deadletterEvents.push(m),
    });
    await env.nc.flush();

    const before = Date.now();
    const fire1 = await env.fire(def);
    let job = await env.waitRecord(def, (j) => j.state.tryCount === 1, "first failure stored");
    expect(job.state).toMatchObject({
      status: "failedRetry",
      lastError: "boom 1",
      isAbandoned: false,
    });
    // 1 s * 2^0 * (0.5..1.5)
    const retryAt = Date.parse(job.state.retryAt!);
    expect(retryAt).toBeGreaterThanOrEqual(before + 500);
    expect(retryAt).toBeLessThanOrEqual(Date.now() + 1500);

    // the scheduler re-fires at retryAt; here the test does
    await env.fire(def, { attempt: 2, reason: "retry", nominalTime: fire1.nominalTime });
    job = await env.waitRecord(def, (j) => j.state.tryCount === 2, "second failure stored");
    expect(job.state.status).toBe("failedRetry");
    expect(Date.parse(job.state.retryAt!) - Date.parse(job.state.updatedAt)).toBeGreaterThanOrEqual(1000);

    const abandoned = w.events.next("run:abandoned", (e) => e.fire.jobId === def.id);
    const fire3 = await env.fire(def, { attempt: 3, reason: "retry", nominalTime: fire1.nominalTime });
    expect(fire3.fireId).toBe(fire1.fireId);
    await abandoned;
    job = await env.waitRecord(def, (j) => j.state.tryCount === 3, "third failure stored");
    expect(job.state).toMatchObject({ status: "stopped", isAbandoned: true, lastError: "boom 3" });
    expect(job.state.retryAt).toBeUndefined();

    const letters = await waitFor(
      async () => {
        const l = await env.deadLetters(def.tenantId, def.id);
        return l.length > 0 ? l : undefined;
      },
      { message: "dead letter stored" },
    );
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      reason: "abandoned",
      error: "boom 3",
      subject: env.ns.fire(def.tenantId, undefined, def.type, 3),
      fire: { fireId: fire3.fireId, attempt: 3 },
    });
    await waitFor(() => deadletterEvents.length === 1, { message: "deadletter event" });
    sub.unsubscribe();
    expect(deadletterEvents[0]!.headers!.get("ce-type")).toBe("io.taskjet.job.deadletter");

    const log = await env.runLog(def);
    expect(log.filter((e) => e.outcome !== "started").map((e) => [e.attempt, e.outcome])).toEqual([
      [1, "failed"],
      [2, "failed"],
      [3, "deadLettered"],
    ]);
  });

  it("RetryAfterError sets retryAt = now + ms", async () => {
    const w = env.worker({ node: "r2" });
    w.register("later", async () => {
      throw new RetryAfterError(120_000, "rate limited");
    });
    await w.start();
    const def = await env.job({ type: "later" });
    const t0 = Date.now();
    await env.fire(def);
    const job = await env.waitRecord(def, (j) => j.state.status === "failedRetry", "failedRetry stored");
    const retryAt = Date.parse(job.state.retryAt!);
    expect(retryAt).toBeGreaterThanOrEqual(t0 + 120_000);
    expect(retryAt).toBeLessThanOrEqual(Date.now() + 120_000);
    expect(job.state.lastError).toBe("rate limited");
  });

  it("NonRetryableError abandons at once", async () => {
    const w = env.worker({ node: "r3" });
    w.register("fatal", async () => {
      throw new NonRetryableError("bad input");
    });
    await w.start();
    const def = await env.job({ type: "fatal", maxTryCount: 50 });
    const failure = w.events.next("run:failure", (e) => e.fire.jobId === def.id);
    await env.fire(def);
    expect(await failure).toMatchObject({ willRetry: false, error: "bad input" });
    const job = await env.waitRecord(def, (j) => j.state.isAbandoned, "abandoned");
    expect(job.state).toMatchObject({ status: "stopped", tryCount: 1 });
    expect(await waitFor(async () => (await env.deadLetters(def.tenantId, def.id))[0])).toMatchObject({
      reason: "abandoned",
      error: "bad input",
    });
  });

  it("an args mismatch is a non-retryable failure naming the field", async () => {
    const w = env.worker({ node: "r4" });
    let called = false;
    w.register(
      "strict",
      async () => {
        called = true;
      },
      { argsSchema: z.object({ url: z.url(), retries: z.number().int() }) },
    );
    await w.start();
    const def = await env.job({ type: "strict", args: { url: "not a url", retries: 1 } });
    await env.fire(def);
    const job = await env.waitRecord(def, (j) => j.state.isAbandoned, "abandoned on bad args");
    expect(job.state.lastError).toMatch(/^invalid args: args\.url: /);
    expect(called).toBe(false);
  });

  it("a recurring job keeps its schedule on failure, is abandoned after maxTryCount consecutive failures, and a success resets tryCount", async () => {
    const w = env.worker({ node: "r5" });
    let fail = true;
    w.register("cronish", async () => {
      if (fail) throw new Error("nope");
      return "ok";
    });
    await w.start();
    const def = await env.job({
      type: "cronish",
      jobType: "persistent",
      intervalSeconds: 60,
      maxTryCount: 2,
    });
    const t = Date.now();
    await env.fire(def, { nominalTime: new Date(t), nextNominalTime: new Date(t + 60_000), last: false });
    let job = await env.waitRecord(def, (j) => j.state.tryCount === 1, "first failure");
    expect(job.state).toMatchObject({ status: "queuing", nextRunTime: new Date(t + 60_000).toISOString() });
    expect(job.state.retryAt).toBeUndefined();

    fail = false;
    await env.fire(def, {
      nominalTime: new Date(t + 60_000),
      nextNominalTime: new Date(t + 120_000),
      last: false,
    });
    job = await env.waitRecord(
      def,
      (j) => j.state.tryCount === 0 && j.state.result === "ok",
      "success resets",
    );
    expect(job.state).toMatchObject({ status: "queuing", result: "ok" });
    expect(job.state.lastError).toBeUndefined();

    fail = true;
    await env.fire(def, {
      nominalTime: new Date(t + 120_000),
      nextNominalTime: new Date(t + 180_000),
      last: false,
    });
    await env.waitRecord(def, (j) => j.state.tryCount === 1, "failure 1 of 2");
    await env.fire(def, {
      nominalTime: new Date(t + 180_000),
      nextNominalTime: new Date(t + 240_000),
      last: false,
    });
    job = await env.waitRecord(def, (j) => j.state.isAbandoned, "abandoned after 2 consecutive failures");
    expect(job.state).toMatchObject({ status: "stopped", tryCount: 2 });
  });
});
