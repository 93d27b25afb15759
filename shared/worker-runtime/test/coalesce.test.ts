/**
 * Coalesced state writes (stateCoalescer.ts): successful runs of an unlimited, untracked recurring job are
 * acked at once and written together; a failure writes at once, after the pending successes; a graceful stop
 * flushes; jobs the scheduler counts (maxCount) and once jobs are never coalesced.
 */
import { describe, expect, it } from "vitest";
import { KvWatchInclude } from "@nats-io/kv";
import { waitFor } from "@taskjet/testing";
import { env, useTestEnv } from "./helpers.js";

useTestEnv();

const past = (s: number) => new Date(Date.now() - s * 1000);
const runStreamEmpty = () =>
  waitFor(async () => (await env.topo.jsm.streams.info(env.ns.streams.run)).state.messages === 0, {
    message: "run stream drained",
  });

describe("coalesced state writes", () => {
  it("successful runs of an unlimited recurring job are acked at once and written together, in order", async () => {
    const w = env.worker({ node: "c1", coalesceStateMs: 60_000 });
    let n = 0;
    w.register("often", async () => ++n);
    await w.start();
    const def = await env.job({ type: "often", jobType: "persistent", intervalSeconds: 1 });
    const nominals = [past(3), past(2), past(1)];
    let succeeded = 0;
    const counts: (number | undefined)[] = [];
    w.events.on("run:success", (e) => {
      succeeded++;
      counts.push(e.state?.triggerCount);
    });
    for (const t of nominals) await env.fire(def, { nominalTime: t, last: false });
    await waitFor(() => succeeded === 3, { message: "three runs" });
    // what listeners see counts every run, though none is written yet
    expect(counts).toEqual([1, 2, 3]);
    await runStreamEmpty(); // acked before their state is written
    expect((await env.record(def))!.state).toMatchObject({ triggerCount: 0 });
    expect((await env.record(def))!.state.lastRunTime).toBeUndefined();
    // a graceful stop writes what is pending
    await w.stop();
    const job = (await env.record(def))!;
    expect(job.state).toMatchObject({
      triggerCount: 3,
      lastFireTime: nominals[2]!.toISOString(),
      result: 3,
      status: "queuing",
    });
    expect(job.state.lastRunTime).toBeDefined();
  });

  it("a fire prepared before a coalesced write of its job counts that write (events, hooks)", async () => {
    const w = env.worker({ node: "c9", coalesceStateMs: 200 });
    w.register("seen", async () => "ok");
    await w.start();
    const def = await env.job({ type: "seen", jobType: "persistent", intervalSeconds: 1 });
    const counts: (number | undefined)[] = [];
    w.events.on("run:success", (e) => counts.push(e.state?.triggerCount));
    // an early fire, prepared now from the job as it is (nothing run yet)...
    const held = w.events.next("run:held", (e) => e.fire.jobId === def.id);
    await env.fire(def, { nominalTime: new Date(Date.now() + 2_000), last: false });
    await held;
    // ...while three earlier fires run and are written together before it starts
    for (const t of [past(3), past(2), past(1)]) await env.fire(def, { nominalTime: t, last: false });
    await env.waitRecord(def, (j) => j.state.triggerCount === 3, "the three runs written");
    expect(counts).toEqual([1, 2, 3]); // the early fire has not started yet
    await waitFor(() => counts.length === 4, { message: "the early fire ran" });
    expect(counts).toEqual([1, 2, 3, 4]);
    await w.stop();
    expect((await env.record(def))!.state.triggerCount).toBe(4);
  });

  it("writes on its own after coalesceStateMs", async () => {
    const w = env.worker({ node: "c2", coalesceStateMs: 300 });
    w.register("later", async () => "ok");
    await w.start();
    const def = await env.job({ type: "later", jobType: "period", cron: "* * * * * ?" });
    const [first, second] = [past(2), past(1)];
    await env.fire(def, { nominalTime: first, last: false });
    await env.fire(def, { nominalTime: second, last: false });
    const job = await env.waitRecord(def, (j) => j.state.triggerCount === 2, "both runs written");
    expect(job.state.lastFireTime).toBe(second.toISOString());
  });

  it("writes from the worker's copy without reading the job; a stale copy is read again and nothing is lost", async () => {
    const w = env.worker({ node: "c5", coalesceStateMs: 200 });
    w.register("copied", async () => "ok");
    await w.start();
    const def = await env.job({ type: "copied", jobType: "persistent", intervalSeconds: 1 });
    const key = env.ns.jobKey(def);
    const t0 = Date.now() - 60_000;
    const created = (await env.record(def))!.revision;
    // the worker's store reads (direct gets of the job bucket, and reads from the stream leader after a lost
    // compare-and-set), seen by a plain subscriber; the test's own reads (waitRecord) answer to its
    // connection's inbox, learnt from a first read
    let reads = 0;
    let ownInbox: string | undefined;
    const inboxOf = (reply: string | undefined) => reply?.split(".").slice(0, 2).join(".");
    const directGet = `$JS.API.DIRECT.GET.KV_${env.ns.buckets.jobs}`;
    const leaderGet = `$JS.API.STREAM.MSG.GET.KV_${env.ns.buckets.jobs}`;
    const callback = (_err: unknown, m: { reply?: string }) => {
      if (ownInbox === undefined) ownInbox = inboxOf(m.reply);
      else if (inboxOf(m.reply) !== ownInbox) reads++;
    };
    // the key goes in the subject or in the request's body
    const subs = [directGet, `${directGet}.>`, leaderGet].map((s) => env.nc.subscribe(s, { callback }));
    await env.nc.flush();
    await env.record(def);
    await waitFor(() => ownInbox !== undefined, { message: "the test's own read seen" });
    const fireAt = (n: number, revision: number) =>
      env.fire(def, { nominalTime: new Date(t0 + n * 1000), revision, last: false });
    // the first run reads the job; its coalesced write starts from that copy
    await fireAt(0, created);
    const first = await env.waitRecord(def, (j) => j.state.triggerCount === 1, "first run written");
    const readsAfterFirst = reads;
    expect(readsAfterFirst).toBe(1);
    // the second runs from the copy its own write left, and its write needs no read either
    await fireAt(1, first.revision);
    await env.waitRecord(def, (j) => j.state.triggerCount === 2, "second run written");
    expect(reads).toBe(readsAfterFirst);
    // someone else writes the job: the copy is stale, its compare-and-set fails, the write reads and retries
    await env.store.mutate(key, (j) => ({ ...j, state: { ...j.state, result: "from elsewhere" } }));
    await fireAt(2, first.revision);
    const third = await env.waitRecord(def, (j) => j.state.triggerCount === 3, "third run written");
    expect(reads).toBeGreaterThan(readsAfterFirst);
    expect(third.state.lastFireTime).toBe(new Date(t0 + 2000).toISOString());
    for (const s of subs) s.unsubscribe();
  });

  it("jobs that ran at the same instant are written spread over the interval (a wheel), not all at once", async () => {
    const w = env.worker({ node: "c6", coalesceStateMs: 4_000 });
    let ran = 0;
    w.register("together", async () => void ran++);
    await w.start();
    const defs = await Promise.all(
      Array.from({ length: 20 }, () =>
        env.job({ type: "together", jobType: "persistent", intervalSeconds: 1 }),
      ),
    );
    const keys = new Set(defs.map((d) => env.ns.jobKey(d)));
    const writtenAt: number[] = [];
    const watch = await env.topo.jobs.watch({ include: KvWatchInclude.UpdatesOnly });
    void (async () => {
      for await (const e of watch) if (keys.has(e.key)) writtenAt.push(Date.now());
    })();
    const nominal = past(1);
    for (const def of defs) await env.fire(def, { nominalTime: nominal, last: false });
    await waitFor(() => ran === 20, { message: "all twenty ran" });
    await waitFor(() => writtenAt.length === 20, { message: "all twenty written", timeoutMs: 15_000 });
    watch.stop();
    // each key has its slot of twenty on a wheel that turns once per interval (4 s, a slot every 200 ms);
    // twenty random ids all in four neighbouring slots (800 ms) have odds of about one in 10^12
    expect(Math.max(...writtenAt) - Math.min(...writtenAt)).toBeGreaterThan(800);
  });

  it("a failure is written at once, after the job's pending successes", async () => {
    const w = env.worker({ node: "c3", coalesceStateMs: 60_000 });
    let calls = 0;
    w.register("flaky", async () => {
      if (++calls === 3) throw new Error("third run fails");
      return calls;
    });
    await w.start();
    const def = await env.job({ type: "flaky", jobType: "persistent", intervalSeconds: 1 });
    const failed = w.events.next("run:failure", (e) => e.fire.jobId === def.id);
    for (const s of [3, 2, 1]) await env.fire(def, { nominalTime: past(s), last: false });
    await failed;
    const job = await env.waitRecord(def, (j) => j.state.lastError !== undefined, "failure written");
    // the two successes were written first (counted), then the failure (counted too, tryCount 1)
    expect(job.state).toMatchObject({ triggerCount: 3, tryCount: 1, lastError: "third run fails" });
  });

  it("jobs the scheduler counts (maxCount) and once jobs write every run at once", async () => {
    const w = env.worker({ node: "c4", coalesceStateMs: 60_000 });
    w.register("counted", async () => "done");
    await w.start();
    const finite = await env.job({ type: "counted", jobType: "persistent", intervalSeconds: 1, maxCount: 5 });
    const once = await env.job({ type: "counted" });
    await env.fire(finite, { nominalTime: past(1), last: false });
    await env.fire(once);
    await env.waitRecord(finite, (j) => j.state.lastRunTime !== undefined, "finite job written");
    await env.waitRecord(once, (j) => j.state.status === "completed", "once job written");
  });
});
