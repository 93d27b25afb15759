import { describe, expect, it } from "vitest";
import { Kvm } from "@nats-io/kv";
import { fireIdOf, fireMsgId, parseFire, type JobView, type QueueResult } from "@taskjet/protocol";
import {
  api,
  iso,
  readJob,
  startLeader,
  T0,
  testOptions,
  waitFor,
  writeState,
  useNatsServer,
  nc,
  cleanups,
  leaderWithFires,
  namespace,
  settled,
} from "./harness.js";
import { CURSOR_KEY } from "../src/index.js";

useNatsServer();

async function setup(startMs = T0, extra: Parameters<typeof testOptions>[2] = {}) {
  const { prefix, clock, service, fires } = await leaderWithFires(startMs, extra, "f");
  const queue = (body: Record<string, unknown>) => api<QueueResult>(nc, prefix, "queue", body);
  return { prefix, clock, service, fires, queue };
}

describe("firing", () => {
  it("fires a per-second period job with the fire headers, once per nominal second", async () => {
    const { clock, fires, queue, service } = await setup();
    const { job } = await queue({
      id: "tick",
      name: "tick",
      type: "noop",
      jobType: "period",
      cron: "* * * * * ?",
    });
    expect(job.nextRunTime).toBe(iso(T0 + 1_000));
    await fires.stepSeconds(clock, "tick", 3);
    const got = fires.of("tick");
    expect(got.map((f) => f.msg.nominalTime)).toEqual([1, 2, 3].map((s) => iso(T0 + s * 1_000)));
    const first = got[0]!;
    const fireId = fireIdOf("default", "tick", T0 + 1_000);
    expect(first.msg.fireId).toBe(fireId);
    expect(first.msgId).toBe(fireMsgId(fireId, 1));
    expect(first.epoch).toBe(String(first.msg.epoch));
    expect(Number(first.epoch)).toBeGreaterThan(0);
    expect(first.nominalHeader).toBe(first.msg.nominalTime);
    expect(first.contentType).toBe("application/msgpack");
    expect(first.subject).toBe(`${service.options.prefix}.run.default._any.noop.p3.=fire`);
    expect(first.msg).toMatchObject({ reason: "schedule", attempt: 1, last: false, trackRunning: false });
    expect(first.msg.nextNominalTime).toBe(iso(T0 + 2_000));
    // planned from the stored job: workers may run it from a copy at least that new
    expect(first.msg.revision).toBe(job.revision);
  });

  it("publishes the fires of jsonFires nodes and types as JSON, the same message, others as msgpack", async () => {
    const { clock, fires, queue } = await setup(T0, { jsonFires: { nodes: ["j1", "_any"], types: ["jt"] } });
    const every = { name: "n", jobType: "persistent", intervalSeconds: 1, args: { a: [1, "x", null] } };
    await queue({ ...every, id: "byNode", type: "t", nodeName: "j1" });
    await queue({ ...every, id: "byAny", type: "t" });
    await queue({ ...every, id: "byType", type: "jt", nodeName: "m1" });
    await queue({ ...every, id: "plain", type: "t", nodeName: "m1" });
    await fires.stepSeconds(clock, "plain", 1);
    await waitFor(() => ["byNode", "byAny", "byType"].every((id) => fires.of(id).length >= 1));
    for (const id of ["byNode", "byAny", "byType"]) {
      const f = fires.of(id)[0]!;
      expect(f.contentType, id).toBe("application/json");
      // the same FireMessage a msgpack fire carries, and one the fire schema accepts
      expect(parseFire(f.msg)).toEqual(f.msg);
      expect(f.msg).toMatchObject({ jobId: id, args: { a: [1, "x", null] }, attempt: 1, reason: "schedule" });
    }
    expect(fires.of("plain")[0]!.contentType).toBe("application/msgpack");
  });

  it("keeps firing when a fire:batch listener throws (logged, not an unhandled rejection)", async () => {
    const { clock, fires, queue, service } = await setup();
    let thrown = 0;
    service.events.on("fire:batch", () => {
      thrown++;
      throw new Error("a broken listener");
    });
    await queue({ id: "tick", name: "tick", type: "noop", jobType: "period", cron: "* * * * * ?" });
    await fires.stepSeconds(clock, "tick", 3);
    await waitFor(() => thrown >= 3, { message: "the listener ran for every batch" });
  });

  it("publishes scheduled fires leadMs before their nominal time (workers start them at it)", async () => {
    const { clock, fires, queue } = await setup(T0, { leadMs: 500 });
    await queue({ id: "lead", name: "lead", type: "noop", jobType: "period", cron: "* * * * * ?" });
    clock.advance(500);
    const [first] = await fires.waitFires("lead", 1);
    expect(first!.msg).toMatchObject({ nominalTime: iso(T0 + 1_000), firedAt: iso(T0 + 500) });
    clock.advance(1_000);
    const [, second] = await fires.waitFires("lead", 2);
    expect(second!.msg).toMatchObject({ nominalTime: iso(T0 + 2_000), firedAt: iso(T0 + 1_500) });
    expect(fires.nominals("lead")).toEqual([iso(T0 + 1_000), iso(T0 + 2_000)]);
    // a once job due now (or late) goes out at once, not leadMs early
    await queue({ id: "now", name: "now", type: "noop" });
    const [now] = await fires.waitFires("now", 1);
    expect(now!.msg.firedAt).toBe(iso(T0 + 1_500));
  });

  it("fires once jobs immediately, after a delay and at beginTime, to the job's node and priority", async () => {
    const { clock, fires, queue, prefix } = await setup();
    await queue({ id: "now", name: "now", type: "noop", nodeName: "n1", priority: "high" });
    await queue({ id: "delayed", name: "delayed", type: "noop", intervalSeconds: 2 });
    await queue({ id: "at", name: "at", type: "noop", beginTime: iso(T0 + 3_000) });
    const [now] = await fires.waitFires("now", 1);
    expect(now!.subject).toBe(`${prefix}.run.default.n1.noop.p5.=fire`);
    expect(now!.msg).toMatchObject({ nominalTime: iso(T0), last: true, trackRunning: false });
    clock.advance(2_000);
    await fires.waitFires("delayed", 1);
    expect(fires.nominals("at")).toEqual([]);
    clock.advance(1_000);
    await fires.waitFires("at", 1);
    expect(fires.nominals("delayed")).toEqual([iso(T0 + 2_000)]);
    expect(fires.nominals("at")).toEqual([iso(T0 + 3_000)]);
    // no per-fire write for once jobs: the worker that runs the fire records it and completes the job
    const stored = await readJob(nc, prefix, "default.default.at");
    expect(stored?.state).toMatchObject({ triggerCount: 0, status: "queuing", nextRunTime: iso(T0 + 3_000) });
  });

  it("a fire published again by the next leader is stored once (same Nats-Msg-Id, inside the duplicate window)", async () => {
    const { clock, fires, queue, prefix, service } = await setup();
    await queue({
      id: "p",
      name: "p",
      type: "noop",
      jobType: "period",
      cron: "* * * * * ?",
      misfirePolicy: "fireAll",
    });
    await fires.stepSeconds(clock, "p", 3);
    await service.stop();
    // as if the leader had died before any cursor write covered these fires: the next one resumes from the
    // store (no per-fire writes for this job) and publishes all three again
    const sched = await new Kvm(nc).open(namespace(prefix).buckets.sched);
    await sched.purge(CURSOR_KEY);
    const next = await startLeader(testOptions(nc, prefix, { clock }));
    cleanups.push(() => next.stop());
    await waitFor(() => next.metrics.firesDuplicate + next.metrics.firesPublished >= 3, {
      message: "the next leader's re-publishes",
    });
    expect(fires.publishedTwice("p")).toEqual(
      [1, 2, 3].map((s) => fireMsgId(fireIdOf("default", "p", T0 + s * 1_000), 1)),
    );
    expect(next.metrics.firesDuplicate).toBe(3);
    expect(next.metrics.firesPublished).toBe(0);
    clock.advance(1_000);
    await fires.waitFires("p", 4);
    // the stream holds each nominal second once
    expect(fires.nominals("p")).toEqual([1, 2, 3, 4].map((s) => iso(T0 + s * 1_000)));
  });

  it("does not publish a fired once job again after a restart, though only its worker will record the fire", async () => {
    const { clock, fires, queue, prefix, service } = await setup();
    await queue({ id: "one", name: "one", type: "noop" });
    await queue({ id: "two", name: "two", type: "noop", intervalSeconds: 1 });
    clock.advance(1_000);
    await fires.waitFires("one", 1);
    await fires.waitFires("two", 1);
    await service.stop(); // a graceful stop writes the fire cursor, which covers both jobs
    const next = await startLeader(testOptions(nc, prefix, { clock }));
    cleanups.push(() => next.stop());
    await queue({ id: "three", name: "three", type: "noop" });
    await fires.waitFires("three", 1);
    clock.advance(5_000);
    await queue({ id: "four", name: "four", type: "noop" });
    await fires.waitFires("four", 1);
    await settled(next, fires);
    // the new leader published only the jobs queued after it started; nothing again, not even a duplicate
    expect(next.metrics.firesPublished).toBe(2);
    expect(next.metrics.firesDuplicate).toBe(0);
    expect(fires.of("one")).toHaveLength(1);
    expect(fires.of("two")).toHaveLength(1);
  });

  it("fires persistent jobs every intervalSeconds from beginTime and completes them at maxCount", async () => {
    const { clock, fires, queue, prefix, service } = await setup();
    await queue({
      id: "every2",
      name: "every2",
      type: "noop",
      jobType: "persistent",
      intervalSeconds: 2,
      beginTime: iso(T0 + 1_000),
      maxCount: 3,
    });
    for (let i = 0; i < 8; i++) {
      clock.advance(1_000);
      await settled(service);
    }
    await fires.waitFires("every2", 3);
    await settled(service, fires);
    expect(fires.nominals("every2")).toEqual([iso(T0 + 1_000), iso(T0 + 3_000), iso(T0 + 5_000)]);
    expect(fires.of("every2").map((f) => f.msg.last)).toEqual([false, false, true]);
    const done = await waitFor(async () => {
      const j = await readJob(nc, prefix, "default.default.every2");
      return j?.state.status === "completed" ? j : undefined;
    });
    expect(done.state.triggerCount).toBe(3);
    expect(done.state.nextRunTime).toBeUndefined();
  });

  it("completes a period job at endTime; the last fire says so", async () => {
    const { clock, fires, queue, prefix, service } = await setup();
    await queue({
      id: "ends",
      name: "ends",
      type: "noop",
      jobType: "period",
      cron: "*/2 * * * * ?",
      endTime: iso(T0 + 5_000),
    });
    for (let i = 0; i < 7; i++) {
      clock.advance(1_000);
      await settled(service);
    }
    await fires.waitFires("ends", 2);
    await settled(service, fires);
    const done = await waitFor(async () => {
      const j = await readJob(nc, prefix, "default.default.ends");
      return j?.state.status === "completed" ? j : undefined;
    });
    expect(fires.nominals("ends")).toEqual([iso(T0 + 2_000), iso(T0 + 4_000)]);
    expect(fires.of("ends").at(-1)!.msg).toMatchObject({ last: true });
    expect(fires.of("ends").at(-1)!.msg.nextNominalTime).toBeUndefined();
    expect(done.state.nextRunTime).toBeUndefined();
  });

  it("publishes a retry at retryAt after the worker reports failedRetry", async () => {
    const { clock, fires, queue, prefix, service } = await setup();
    await queue({ id: "flaky", name: "flaky", type: "noop" });
    const [first] = await fires.waitFires("flaky", 1);
    // what the worker writes after a failed run: the fire recorded, a retry due at retryAt
    const failed = await writeState(nc, prefix, "default.default.flaky", {
      lastFireTime: first!.msg.nominalTime,
      triggerCount: 1,
      status: "failedRetry",
      tryCount: 1,
      retryAt: iso(T0 + 5_000),
      lastError: "boom",
    });
    // the leader's view has the retry (so its timer is set) before the clock moves
    await waitFor(() => service.index().waitForRevision(failed.revision, 10_000));
    clock.advance(4_000);
    // the leader has looked at T0 + 4 s and has nothing in flight: an early retry would be out by now
    await settled(service, fires);
    expect(fires.of("flaky")).toHaveLength(1);
    clock.advance(1_000);
    const [, retry] = await fires.waitFires("flaky", 2);
    expect(retry!.msg).toMatchObject({ reason: "retry", attempt: 2, nominalTime: first!.msg.nominalTime });
    expect(retry!.msgId).toBe(fireMsgId(first!.msg.fireId, 2));
    const after = await waitFor(async () => {
      const j = await readJob(nc, prefix, "default.default.flaky");
      return j?.state.status === "queuing" ? j : undefined;
    });
    expect(after.state.retryAt).toBeUndefined();
  });

  it("get shows the next nominal fire as nextRunTime after every fire, and the last one at maxCount", async () => {
    const { clock, fires, queue, prefix } = await setup();
    // unlimited: no per-fire store write, the view takes the leader's schedule; maxCount: written per fire
    await queue({ id: "open", name: "open", type: "noop", jobType: "period", cron: "* * * * * ?" });
    await queue({
      id: "counted",
      name: "counted",
      type: "noop",
      jobType: "persistent",
      intervalSeconds: 1,
      maxCount: 3,
    });
    const view = async (id: string) => (await api<{ job: JobView }>(nc, prefix, "get", { id })).job;
    expect((await view("open")).nextRunTime).toBe(iso(T0 + 1_000));
    for (let i = 1; i <= 3; i++) {
      clock.advance(1_000);
      await fires.waitFires("open", i);
      await fires.waitFires("counted", i);
      await waitFor(async () => (await view("open")).nextRunTime === iso(T0 + (i + 1) * 1_000), {
        message: `open's nextRunTime after fire ${i}`,
      });
      if (i < 3) {
        await waitFor(async () => (await view("counted")).nextRunTime === iso(T0 + (i + 1) * 1_000), {
          message: `counted's nextRunTime after fire ${i}`,
        });
      }
    }
    const done = await waitFor(async () => {
      const v = await view("counted");
      return v.status === "completed" ? v : undefined;
    });
    expect(done.nextRunTime).toBeUndefined();
    expect(done.triggerCount).toBe(3);
  });

  it("trigger fires now with reason trigger", async () => {
    const { fires, queue, prefix } = await setup();
    await queue({ id: "manual", name: "manual", type: "noop", jobType: "period", cron: "0 0 0 1 1 ?" });
    const res = await api<{ results: { id: string; ok: boolean }[] }>(nc, prefix, "trigger", {
      id: "manual",
    });
    expect(res.results).toEqual([{ id: "manual", ok: true }]);
    const [f] = await fires.waitFires("manual", 1);
    expect(f!.msg).toMatchObject({ reason: "trigger", nominalTime: iso(T0), attempt: 1 });
  });

  it("bulk trigger sends each job's fire to that job's own node (by ids and by filter)", async () => {
    const { clock, fires, queue, prefix } = await setup();
    const never = { type: "noop", jobType: "period", cron: "0 0 0 1 1 ?" };
    await queue({ id: "onA", name: "onA", nodeName: "a", group: "bulk", ...never });
    await queue({ id: "onB", name: "onB", nodeName: "b", group: "bulk", ...never });
    await queue({ id: "any", name: "any", group: "bulk", ...never });
    type Bulk = { results: { id: string; ok: boolean }[] };
    const byIds = await api<Bulk>(nc, prefix, "trigger", { ids: ["onA", "onB", "any"] });
    expect(byIds.results).toEqual(["onA", "onB", "any"].map((id) => ({ id, ok: true })));
    await Promise.all(["onA", "onB", "any"].map((id) => fires.waitFires(id, 1)));
    const subjects = () => ["onA", "onB", "any"].map((id) => fires.of(id).map((f) => f.subject));
    expect(subjects()).toEqual([
      [`${prefix}.run.default.a.noop.p3.=fire`],
      [`${prefix}.run.default.b.noop.p3.=fire`],
      [`${prefix}.run.default._any.noop.p3.=fire`],
    ]);
    clock.advance(1_000); // a trigger's nominal time is now: at the same instant it would be the same fire
    const byFilter = await api<Bulk>(nc, prefix, "trigger", { filter: { group: "bulk" } });
    expect(byFilter.results.map((r) => r.ok)).toEqual([true, true, true]);
    await Promise.all(["onA", "onB", "any"].map((id) => fires.waitFires(id, 2)));
    expect(subjects().map((s) => s[1])).toEqual(subjects().map((s) => s[0]));
    expect(["onA", "onB", "any"].flatMap((id) => fires.of(id)).every((f) => f.msg.reason === "trigger")).toBe(
      true,
    );
  });
});
