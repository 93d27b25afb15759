/**
 * docs/examples/raw-worker.mjs, a worker written with only a NATS client and msgpack from docs/protocol.md,
 * runs as written against a real nats-server and scheduler: a once job, a failure, an unlimited recurring
 * job it counts itself, and a poison message it dead-letters instead of running.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { decode, type DeadLetter } from "@taskjet/protocol";
import { waitFor } from "@taskjet/testing";
import { createClient } from "@taskjet/client";
import { startStack, type Stack } from "@taskjet/test-stack";

const root = fileURLToPath(new URL("..", import.meta.url));
let stack: Stack;
let worker: ChildProcess;
let out = "";

beforeAll(async () => {
  // the stack's client queues through the scheduler (fires); the fast-lane test below has its own client
  stack = await startStack({ clientOptions: { fastLane: false } });
  worker = spawn(process.execPath, ["docs/examples/raw-worker.mjs"], {
    cwd: root,
    env: { ...process.env, NATS_URL: stack.nats.url, TASKJET_PREFIX: stack.prefix, TASKJET_NODE: "js1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  worker.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  worker.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  await waitFor(() => stack.client.scheduler.status().then((s) => s.workers.some((w) => w.node === "js1")), {
    timeoutMs: 20_000,
    message: "the raw worker in status.workers",
  });
}, 60_000);
afterAll(async () => {
  worker?.kill("SIGTERM");
  await stack?.stop();
});

describe("docs/examples/raw-worker.mjs", () => {
  const s = () => stack.client.scheduler;
  const job = { name: "shout", type: "shout", nodeName: "js1" };

  it("runs a job and writes its outcome as the protocol says", async () => {
    await s().queue({ ...job, id: "r1", args: { text: "hi" } });
    await waitFor(async () => (await s().get("r1")).status === "completed", { message: `r1 ran\n${out}` });
    expect(await s().get("r1")).toMatchObject({ result: "HI", tryCount: 0, doneRuns: [expect.any(String)] });
    expect((await s().logs("r1")).map((e) => e.outcome)).toEqual(["started", "succeeded"]);
  });

  it("records a failure; the scheduler retries it", async () => {
    await s().queue({ ...job, id: "r2", args: { fail: true } });
    await waitFor(async () => (await s().get("r2")).tryCount >= 2, { message: `r2 tried twice\n${out}` });
    expect(await s().get("r2")).toMatchObject({ lastError: "asked to fail" });
    await s().remove({ id: "r2" }, { force: true });
  });

  it("counts the fires of an unlimited recurring job", async () => {
    await s().queue({ ...job, id: "r3", jobType: "persistent", intervalSeconds: 1, args: { text: "t" } });
    await waitFor(async () => (await s().get("r3")).triggerCount >= 2, {
      timeoutMs: 20_000,
      message: `r3 counted\n${out}`,
    });
    expect((await s().get("r3")).lastFireTime).toBeDefined();
    await s().remove({ id: "r3" }, { force: true });
  });

  it("takes the lock and records the run of a locked job with an overlap policy", async () => {
    await s().queue({
      ...job,
      id: "r4",
      jobType: "persistent",
      intervalSeconds: 1,
      maxCount: 2,
      lockTimeoutSeconds: 30,
      overlapPolicy: "skip",
      args: { text: "locked" },
    });
    await waitFor(async () => (await s().logs("r4")).filter((e) => e.outcome === "succeeded").length === 2, {
      timeoutMs: 20_000,
      message: `r4 ran twice\n${out}`,
    });
    // the scheduler counted both fires; the running entries are gone; the lock was taken and released
    expect(await s().get("r4")).toMatchObject({ status: "completed", triggerCount: 2, running: [] });
    const locks = await new Kvm(stack.nc).open(`${stack.prefix}-locks`);
    expect((await locks.get("default.r4"))?.operation).toBe("DEL"); // taken, then released
  });

  it("runs a fast-lane job (published straight to the run stream) and creates its record; a failed one is retried by the scheduler", async () => {
    const fast = createClient(stack.nc, { prefix: stack.prefix }).scheduler;
    const ok = await fast.queue({ ...job, id: "f1", args: { text: "fast" } });
    expect(ok.job.revision).toBe(0); // not stored: its message is its record
    await waitFor(async () => (await fast.get("f1").catch(() => undefined))?.status === "completed", {
      message: `f1 completed\n${out}`,
    });
    expect(await fast.get("f1")).toMatchObject({ result: "FAST", triggerCount: 1, tryCount: 0 });
    await fast.queue({ ...job, id: "f2", args: { fail: true }, maxTryCount: 2 });
    await waitFor(async () => (await fast.get("f2").catch(() => undefined))?.status === "stopped", {
      timeoutMs: 20_000,
      message: `f2 abandoned after its scheduled retry\n${out}`,
    });
    expect(await fast.get("f2")).toMatchObject({
      isAbandoned: true,
      tryCount: 2,
      lastError: "asked to fail",
    });
  });

  it("dead-letters a poison message and terminates it", async () => {
    await jetstream(stack.nc).publish(
      `${stack.prefix}.run.default.js1.shout.p3.poison1`,
      new TextEncoder().encode("{nope"),
    );
    const jsm = await jetstreamManager(stack.nc);
    await waitFor(async () => (await jsm.streams.info(`${stack.prefix}-dlq`)).state.messages >= 1, {
      message: `a dead letter\n${out}`,
    });
    const m = await jsm.streams.getMessage(`${stack.prefix}-dlq`, {
      last_by_subj: `${stack.prefix}.dlq._unknown._unknown`,
    });
    expect(decode(m!.data) as DeadLetter).toMatchObject({
      reason: "poison",
      subject: `${stack.prefix}.run.default.js1.shout.p3.poison1`,
      rawBase64: Buffer.from("{nope").toString("base64"),
    });
    // terminated: nothing left pending or unacked on the consumer, so it is never redelivered
    await waitFor(
      async () => {
        const c = await jsm.consumers.info(`${stack.prefix}-run`, `${stack.prefix}-node3-js1-shout-p3`);
        return c.num_pending === 0 && c.num_ack_pending === 0;
      },
      { message: "the poison message settled" },
    );
  });
});
