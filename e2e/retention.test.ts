/**
 * Issue 12's bound, end to end: 100,000 once jobs run to completion through the scheduler and a worker,
 * with removeOnComplete true. Afterwards the scheduler holds none of them (its index is empty) and the store
 * none (each job was removed by the worker that finished it). Each removal leaves a delete marker in the
 * bucket's stream, which the leader's retention sweep purges on nats-server 2.9.15+ and must leave on older
 * servers (serverVersion.ts).
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { JobStore, serverHas } from "@taskjet/nats";
import { namespace } from "@taskjet/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@taskjet/testing";
import { startStack, type Stack } from "@taskjet/test-stack";

const JOBS = Number(process.env["TASKJET_RETENTION_JOBS"] ?? 100_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    worker: true,
    register: (w) => w.register("tiny", () => Promise.resolve()),
    workerOptions: { concurrency: 100 },
    schedulerOptions: { retentionSweepMs: 500 },
    // the scheduler's path: stored, fired, removed by the worker (the fast lane's own bound, with no store
    // write at all, is in fastLane.test.ts)
    clientOptions: { fastLane: false },
  });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

describe("finished once jobs under retention", () => {
  it(`${JOBS} once jobs run and leave the scheduler's memory and the store`, async () => {
    const { client, scheduler, worker, nc, prefix } = stack;
    let ran = 0;
    worker!.events.on("run:success", () => ran++);
    const batch = 1_000;
    for (let i = 0; i < JOBS; i += batch) {
      await client.scheduler.queueMany(
        Array.from({ length: Math.min(batch, JOBS - i) }, (_, k) => ({
          id: `r${i + k}`,
          name: "r",
          type: "tiny",
          removeOnComplete: true,
        })),
      );
    }
    await waitFor(() => ran >= JOBS, { timeoutMs: 300_000, intervalMs: 500, message: "every job ran" });
    await waitFor(() => scheduler.index().size === 0, {
      timeoutMs: 60_000,
      intervalMs: 250,
      message: "the scheduler's index emptied",
    });
    expect(scheduler.index().finished().next().done).toBe(true);
    const store = new JobStore(await new Kvm(nc).open(`${prefix}-jobs`), namespace(prefix));
    expect(await store.list()).toEqual([]);
    // each removal left a delete marker: purged where the server allows it safely (2.9.15+), else kept
    const jsm = await jetstreamManager(nc);
    const messages = async () => (await jsm.streams.info(`KV_${prefix}-jobs`)).state.messages;
    if (serverHas(nc, "safeFilteredPurge")) {
      await waitFor(async () => (await messages()) === 0, {
        timeoutMs: 120_000,
        intervalMs: 1_000,
        message: "the job bucket's stream emptied",
      });
    } else {
      expect(await messages()).toBe(JOBS);
    }
    expect(ran).toBe(JOBS);
  }, 600_000);
});
