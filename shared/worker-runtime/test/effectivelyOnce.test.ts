/**
 * Effectively-once runs (issue 13): a fire whose run finished is acked without running again, whether it
 * comes back as a redelivery (its ack was lost) or was stored twice under one message id (the run stream's
 * duplicate window forgets acked messages when the server restarts). The outcome in the store
 * (state.doneRuns) or this worker's pending coalesced write says so.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { publishFire, startNats, uniqueName, waitFor, type NatsServerFixture } from "@taskjet/testing";
import {
  fastFireOf,
  fastJobMessage,
  fastRecordOf,
  initialState,
  RESENT_WINDOW_MS,
  runKeyOf,
  withDoneRun,
  type FastJobMessage,
  type FireMessage,
  type JobDefinition,
} from "@taskjet/protocol";
import { directPublisher, publishFastJob, RequestMux } from "@taskjet/nats";
import { TestEnv } from "./helpers.js";

const servers: NatsServerFixture[] = [];
const envs: TestEnv[] = [];
afterEach(async () => {
  for (const e of envs.splice(0)) await e.close();
});
afterAll(async () => {
  for (const s of servers) await s.stop();
});

async function envOn(args: string[] = [], user?: string): Promise<TestEnv> {
  const server = await startNats({ args });
  servers.push(server);
  const env = await new TestEnv(server, {}, user ? { user, pass: user } : {}).init();
  envs.push(env);
  return env;
}

/** Publishes a fast-lane job as the SDK does (through a request multiplexer on the env's connection). */
async function publishFast(env: TestEnv, m: FastJobMessage, resent = false) {
  const mux = new RequestMux(env.nc, directPublisher(env.nc), 5_000);
  try {
    return await publishFastJob(mux, m, "msgpack", resent);
  } finally {
    mux.close();
  }
}

/**
 * A server where user `worker` may do everything but ack (user `admin`: everything): runs finish and are
 * written, and their fires come back after the ack wait.
 */
async function envWithoutAcks(): Promise<TestEnv> {
  const conf = join(tmpdir(), `${uniqueName("noack")}.conf`);
  writeFileSync(
    conf,
    `authorization { users = [
      { user: admin, password: admin }
      { user: worker, password: worker, permissions: { publish: { deny: ["$JS.ACK.>"] } } }
    ] }\n`,
  );
  return envOn(["-c", conf], "admin");
}

/** A worker on such a server as `user` (`worker`: its acks never land), with a short ack wait. */
function workerAs(env: TestEnv, user: "worker" | "admin", opts: Parameters<TestEnv["worker"]>[0]) {
  return env.worker({
    ackWaitMs: 1_500,
    workingIntervalMs: 500,
    ...opts,
    nats: { servers: [env.server.url], prefix: env.ns.prefix, user, password: user },
  });
}

/** A fire of a recurring job (every second) due 10 s ago, not its last: one the worker coalesces. */
async function fireOfRecurring(env: TestEnv, def: JobDefinition): Promise<FireMessage> {
  const t0 = Date.now() - 10_000;
  return env.fire(def, {
    nominalTime: new Date(t0),
    nextNominalTime: new Date(t0 + 1000),
    last: false,
    revision: (await env.record(def))!.revision,
  });
}

describe("effectively-once runs", () => {
  it("a once job's fire stored again after a server restart is acked, not run again", async () => {
    const env = await envOn();
    const w = env.worker({ node: "eo1" });
    let runs = 0;
    w.register("once-only", async () => {
      runs++;
      return "done";
    });
    await w.start();
    const def = await env.job({ type: "once-only", nodeName: "eo1" });
    const fire = await env.fire(def, { revision: (await env.record(def))!.revision });
    await env.waitRecord(def, (j) => j.state.status === "completed", "the first run");
    expect((await env.record(def))!.state.doneRuns).toEqual([fire.fireId.split(":").pop()]);

    // the stream's duplicate window does not survive a restart for messages already acked (work queue):
    // the same fire, same Nats-Msg-Id, is stored again, as a scheduler retrying a lost PubAck would store it
    await env.server.restart();
    const again = await waitFor(() => publishFire(env.js, env.ns, fire), {
      timeoutMs: 15_000,
      message: "publish after the restart",
    });
    expect(again.duplicate).toBe(false);
    // after the restart the worker reconnects and resumes its pulls first: on a loaded machine (the whole
    // suite on two cores) that took over 20 s once
    const skipped = await w.events.next("run:skipped", (e) => e.fire.fireId === fire.fireId, 40_000);
    expect(skipped.reason).toBe("finished");
    expect(runs).toBe(1);
    // the skip's log entry is written after its event
    const log = await waitFor(() => env.runLog(def).then((l) => (l.length >= 3 ? l : undefined)), {
      message: "the skip's run-log entry",
    });
    expect(log.map((e) => `${e.outcome}${e.reason ? `:${e.reason}` : ""}`)).toEqual([
      "started",
      "succeeded",
      "skipped:finished",
    ]);
  });

  it("a fast-lane job its producer sends again after a server restart (marked resent) is acked, not run again; a resent copy of an id last used long ago runs", async () => {
    const env = await envOn();
    const w = env.worker({ node: "eo5" });
    const runs = new Map<string, number>();
    w.register("fast-once", async (ctx) => {
      runs.set(ctx.job.id, (runs.get(ctx.job.id) ?? 0) + 1);
      return "done";
    });
    await w.start();
    const m = fastJobMessage(
      env.ns,
      "default",
      { id: uniqueName("f"), name: "f", type: "fast-once", nodeName: "eo5" },
      () => "",
    );
    await publishFast(env, m);
    await env.waitRecord(m.def, (j) => j.state.status === "completed", "the first run");

    // the duplicate window forgets the acked message in the restart: the copy the SDK sends after an unknown
    // outcome is stored again, and says it is a resent copy
    await env.server.restart();
    const again = await waitFor(() => publishFast(env, m, true), {
      timeoutMs: 15_000,
      message: "publish after the restart",
    });
    expect(again.duplicate).toBe(false);
    const skipped = await w.events.next("run:skipped", (e) => e.fire.jobId === m.def.id, 40_000);
    expect(skipped.reason).toBe("finished");
    expect(runs.get(m.def.id)).toBe(1);

    // an id reused: its last record was accepted longer than RESENT_WINDOW_MS before, so it is another job
    const old = fastJobMessage(
      env.ns,
      "default",
      { id: uniqueName("r"), name: "r", type: "fast-once", nodeName: "eo5" },
      () => "",
    );
    const longAgo = new Date(Date.now() - RESENT_WINDOW_MS - 60_000).toISOString();
    await env.store.create({ def: old.def, state: { ...initialState(longAgo), status: "completed" } });
    await publishFast(env, old, true);
    await waitFor(() => runs.get(old.def.id) === 1, {
      timeoutMs: 15_000,
      message: "the reused id's job ran",
    });
  });

  it("a fast-lane job first delivered (by its count) longer than an ack wait after its acceptance is checked against the store: run already, it is skipped; never run, it runs", async () => {
    const env = await envOn();
    const ran = new Set<string>();
    const make = (tag: string) =>
      fastJobMessage(
        env.ns,
        "default",
        { id: uniqueName(tag), name: tag, type: "fast-late", nodeName: "eo6" },
        () => "",
      );
    const done = make("done");
    const fresh = make("fresh");
    const acceptedMs = async (m: ReturnType<typeof make>) => {
      const ack = await publishFast(env, m);
      // the stream's timestamp, to the ms: what the worker reads from the delivery (its fire id)
      const sm = await env.topo.jsm.streams.getMessage(env.ns.streams.run, { seq: ack.seq });
      return sm!.time.getTime();
    };
    // `done` ran before (its record holds the run, as a consumer reset by a leader change would not know)
    const doneAt = await acceptedMs(done);
    const fire = fastFireOf(done.def, doneAt);
    const rec = fastRecordOf(done.def, doneAt);
    await env.store.create({
      def: rec.def,
      state: { ...rec.state, status: "completed", doneRuns: withDoneRun(undefined, runKeyOf(fire)) },
    });
    const freshAt = await acceptedMs(fresh);
    // both wait longer than the worker's ack wait before it starts
    await waitFor(() => Date.now() - Math.max(doneAt, freshAt) > 1_500, { message: "an ack wait passed" });
    const w = env.worker({ node: "eo6", ackWaitMs: 1_000, workingIntervalMs: 250 });
    w.register("fast-late", async (ctx) => {
      ran.add(ctx.job.id);
    });
    const skipped = w.events.next("run:skipped", (e) => e.fire.jobId === done.def.id, 20_000);
    await w.start();
    expect((await skipped).reason).toBe("finished");
    await waitFor(() => ran.has(fresh.def.id), {
      timeoutMs: 15_000,
      message: "the late job without a record ran",
    });
    expect(ran.has(done.def.id)).toBe(false);
  });

  it("a retry is a run of its own: attempt 2 of a once job runs after attempt 1 failed", async () => {
    const env = await envOn();
    const w = env.worker({ node: "eo2", backoffBaseMs: 10 });
    const attempts: number[] = [];
    w.register("flaky", async (ctx) => {
      attempts.push(ctx.attempt);
      if (ctx.attempt === 1) throw new Error("first try fails");
      return "ok";
    });
    await w.start();
    const def = await env.job({ type: "flaky", nodeName: "eo2" });
    const nominalTime = new Date();
    await env.fire(def, { nominalTime });
    await env.waitRecord(def, (j) => j.state.status === "failedRetry", "the first attempt failed");
    await env.fire(def, { nominalTime, attempt: 2, reason: "retry" });
    const done = await env.waitRecord(def, (j) => j.state.status === "completed", "the retry ran");
    expect(attempts).toEqual([1, 2]);
    const ms = String(nominalTime.getTime());
    expect(done.state.doneRuns).toEqual([ms, `${ms}:a2`]);
  });

  it("a recurring job's fire stored twice is not run again, by the worker that ran it (before its coalesced write) or by another", async () => {
    const env = await envOn();
    const a = env.worker({ node: "eo3", coalesceStateMs: 60_000 });
    let runs = 0;
    a.register("tick", async () => {
      runs++;
    });
    await a.start();
    const def = await env.job({ type: "tick", jobType: "persistent", intervalSeconds: 1, nodeName: "eo3" });
    const fire = await fireOfRecurring(env, def);
    await a.events.next("run:success", (e) => e.fire.fireId === fire.fireId);
    // its outcome waits in the coalescer (60 s): the same fire stored again is known to this worker
    await republish(env, fire, "copy-1");
    const skippedHere = await a.events.next("run:skipped", (e) => e.fire.fireId === fire.fireId, 15_000);
    expect(skippedHere.reason).toBe("finished");
    expect(runs).toBe(1);

    // written, then a fresh worker (no copy of the job, nothing pending) gets the fire once more
    await a.stop();
    const written = await env.waitRecord(
      def,
      (j) => (j.state.doneRuns ?? []).length === 1,
      "coalesced write",
    );
    expect(written.state.triggerCount).toBe(1);
    const b = env.worker({ node: "eo3" });
    let runsB = 0;
    b.register("tick", async () => {
      runsB++;
    });
    await b.start();
    await republish(env, fire, "copy-2");
    const skippedThere = await b.events.next("run:skipped", (e) => e.fire.fireId === fire.fireId, 15_000);
    expect(skippedThere.reason).toBe("finished");
    expect(runsB).toBe(0);
  });

  it("a fire stored twice whose copy reaches the worker while the first copy still runs is run once", async () => {
    // seen in the partition suite (issue 18): after a heal, copies of a fire reach the worker that is
    // running it (a redelivery after lost in-progress acks, or the fire stored twice); the copy read the store
    // before the first run's outcome was written and ran the fire again
    const env = await envOn();
    const w = env.worker({ node: "eo5", concurrency: 4 });
    let runs = 0;
    const published: { fire?: FireMessage } = {};
    w.register("slow-once", async () => {
      runs++;
      if (runs === 1) {
        const first = await waitFor(() => published.fire, { message: "the fire was published" });
        await republish(env, first, "copy-1");
        // the copy is delivered here (both copies unacked) before the first run returns
        await waitFor(
          async () => {
            let pending = 0;
            for await (const c of env.topo.jsm.consumers.list(env.ns.streams.run))
              pending += c.num_ack_pending;
            return pending >= 2;
          },
          { timeoutMs: 10_000, message: "the copy was delivered to the worker" },
        );
      }
      return "done";
    });
    await w.start();
    const def = await env.job({ type: "slow-once", nodeName: "eo5" });
    const fire = await env.fire(def, { revision: (await env.record(def))!.revision });
    published.fire = fire;
    const skipped = await w.events.next("run:skipped", (e) => e.fire.fireId === fire.fireId, 20_000);
    expect(skipped.reason).toBe("finished");
    expect(runs).toBe(1);
    expect((await env.record(def))!.state.doneRuns).toEqual([fire.fireId.split(":").pop()]);
  });

  it("a fire whose ack was lost comes back after the ack wait and is acked, not run again", async () => {
    // a real server that refuses the worker's acks: the run finishes and is written, its ack never lands
    const env = await envWithoutAcks();
    const w = workerAs(env, "worker", { node: "eo4" });
    let runs = 0;
    w.register("unacked", async () => {
      runs++;
      return "ran";
    });
    await w.start();
    const def = await env.job({ type: "unacked", nodeName: "eo4" });
    const fire = await env.fire(def, { revision: (await env.record(def))!.revision });
    const skipped = await w.events.next(
      "run:skipped",
      (e) => e.fire.fireId === fire.fireId && e.delivery > 1,
      20_000,
    );
    expect(skipped.reason).toBe("finished");
    expect(runs).toBe(1);
    expect((await env.record(def))!.state.result).toBe("ran");
  });
});

/** Stores `fire` once more under another message id, as a server that lost its duplicate window would. */
async function republish(env: TestEnv, fire: FireMessage, tag: string): Promise<void> {
  const ack = await publishFire(env.js, env.ns, fire, `${fire.fireId}|${tag}`);
  expect(ack.duplicate).toBe(false);
}

describe("a redelivered fire another worker holds (its ack lost, as in a partition's heal)", () => {
  it("is handed back while the other worker still runs it, then acked as finished once it wrote the outcome: run once", async () => {
    const env = await envWithoutAcks();
    // A: its acks (in-progress ones too) never land, so its fire comes back after the ack wait while it runs;
    // one slot, so the copy goes to B
    const a = workerAs(env, "worker", { node: "eo6", concurrency: 1 });
    let runsA = 0;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    a.register("held-once", async () => {
      runsA++;
      await released;
      return "ran on A";
    });
    await a.start();
    const def = await env.job({ type: "held-once", nodeName: "eo6" });
    const fire = await env.fire(def, { revision: (await env.record(def))!.revision });
    await a.events.next("run:start", (e) => e.fire.fireId === fire.fireId);

    const b = workerAs(env, "admin", { node: "eo6" });
    let runsB = 0;
    b.register("held-once", async () => {
      runsB++;
      return "ran on B";
    });
    await b.start();
    const handedBack = await b.events.next("run:heldElsewhere", (e) => e.fire.fireId === fire.fireId, 20_000);
    expect(handedBack.holder).toBe(a.workerId);
    expect(handedBack.delivery).toBeGreaterThan(1);

    release();
    await env.waitRecord(def, (j) => j.state.status === "completed", "A's outcome");
    // the copy comes back to B (5 s later), which finds the outcome in the store
    const skipped = await b.events.next("run:skipped", (e) => e.fire.fireId === fire.fireId, 30_000);
    expect(skipped.reason).toBe("finished");
    expect(runsA).toBe(1);
    expect(runsB).toBe(0);
    expect((await env.record(def))!.state.result).toBe("ran on A");
  });

  it("is acked as finished when the other worker ran it and its coalesced outcome is not written yet", async () => {
    const env = await envWithoutAcks();
    const a = workerAs(env, "worker", { node: "eo7", coalesceStateMs: 60_000 });
    let runs = 0;
    a.register("tick-held", async () => {
      runs++;
    });
    await a.start();
    const def = await env.job({
      type: "tick-held",
      jobType: "persistent",
      intervalSeconds: 1,
      nodeName: "eo7",
    });
    const fire = await fireOfRecurring(env, def);
    await a.events.next("run:success", (e) => e.fire.fireId === fire.fireId);
    // A's ack never lands and its outcome waits in its coalescer (60 s): the fire keeps coming back, to A
    // (which knows it ran) or to B, which has nothing in the store and asks
    const b = workerAs(env, "admin", { node: "eo7" });
    b.register("tick-held", async () => {
      runs++;
    });
    await b.start();
    const skipped = await b.events.next("run:skipped", (e) => e.fire.fireId === fire.fireId, 30_000);
    expect(skipped.reason).toBe("finished");
    expect(runs).toBe(1);
    expect((await env.record(def))!.state.doneRuns ?? []).toEqual([]);
  });
});
