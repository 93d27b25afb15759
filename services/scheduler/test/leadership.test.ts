/**
 * Leadership with real clocks: one of several replicas fires; a restart of every process loses nothing;
 * a graceful stop hands over at once; and a SIGKILLed leader process (two replicas run as child processes
 * of the built dist/main.js) is replaced within 3 s with no nominal second lost or fired twice.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { Kvm } from "@nats-io/kv";
import { connectTo } from "@taskjet/testing";
import { request } from "@taskjet/nats";
import type { SchedulerStatus } from "@taskjet/protocol";
import { SchedulerService } from "../src/index.js";
import {
  api,
  FireCollector,
  namespace,
  startLeader,
  testOptions,
  uniqueName,
  waitFor,
  type Fire,
  useNatsServer,
  nats,
  nc,
  cleanups,
} from "./harness.js";

useNatsServer();

const perSecond = { id: "tick", name: "tick", type: "noop", jobType: "period", cron: "* * * * * ?" };

/** Every nominal second between the first and the last fire is there exactly once. */
function expectContiguousOnce(fires: Fire[]): void {
  const secs = fires.map((f) => Date.parse(f.msg.nominalTime) / 1000).sort((a, b) => a - b);
  const dupes = secs.filter((s, i) => i > 0 && s === secs[i - 1]);
  expect(dupes, "nominal seconds fired twice").toEqual([]);
  const first = secs[0]!;
  expect(secs, "nominal seconds lost").toEqual(secs.map((_, i) => first + i));
}

describe("in-process replicas", () => {
  it("two replicas: exactly one fires", async () => {
    const prefix = uniqueName("l");
    const ncB = await connectTo(nats.url);
    const a = new SchedulerService(testOptions(nc, prefix, { replicaId: "ra" }));
    const b = new SchedulerService(testOptions(ncB, prefix, { replicaId: "rb" }));
    cleanups.push(async () => {
      await Promise.all([a.stop(), b.stop()]);
      await ncB.close();
    });
    await Promise.all([a.start(), b.start()]);
    await waitFor(() => a.isLeader() || b.isLeader(), { message: "a leader" });
    const fires = await FireCollector.start(nc, namespace(prefix));
    cleanups.push(() => fires.stop());
    await api(nc, prefix, "queue", perSecond);
    await fires.waitFires("tick", 3, 6_000);
    expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
    const follower = a.isLeader() ? b : a;
    expect(follower.metrics.firesPublished + follower.metrics.firesDuplicate).toBe(0);
    expect(new Set(fires.of("tick").map((f) => f.epoch)).size).toBe(1);
    expectContiguousOnce(fires.of("tick"));
  });

  it("restart: stop the only replica, start a new one; schedules continue, nothing lost or repeated", async () => {
    const prefix = uniqueName("l");
    const a = await startLeader(testOptions(nc, prefix));
    const fires = await FireCollector.start(nc, namespace(prefix));
    cleanups.push(() => fires.stop());
    await api(nc, prefix, "queue", perSecond);
    const later = new Date(Date.now() + 4_000).toISOString();
    await api(nc, prefix, "queue", { id: "once", name: "once", type: "noop", beginTime: later });
    await api(nc, prefix, "queue", {
      id: "paused",
      name: "paused",
      type: "noop",
      jobType: "persistent",
      intervalSeconds: 1,
    });
    await api(nc, prefix, "pause", { id: "paused" });
    await fires.waitFires("tick", 2, 5_000);
    await a.stop();
    const stoppedAt = fires.of("tick").length;
    const b = await startLeader(testOptions(nc, prefix));
    cleanups.push(() => b.stop());
    await fires.waitFires("tick", stoppedAt + 3, 6_000);
    await fires.waitFires("once", 1, 8_000);
    expectContiguousOnce(fires.of("tick"));
    // the graceful stop's cursor covers every fire: not even a re-publish for the stream to drop
    expect(fires.publishedTwice("tick")).toEqual([]);
    expect(fires.of("once")).toHaveLength(1);
    expect(fires.of("paused")).toHaveLength(0);
  });

  it("graceful stop of the leader hands over to the follower without waiting for the lease to expire", async () => {
    const prefix = uniqueName("l");
    const leaseTtlMs = 5_000;
    const a = await startLeader(testOptions(nc, prefix, { replicaId: "first", leaseTtlMs }));
    const ncB = await connectTo(nats.url);
    const b = new SchedulerService(testOptions(ncB, prefix, { replicaId: "second", leaseTtlMs }));
    cleanups.push(async () => {
      await b.stop();
      await ncB.close();
    });
    await b.start();
    const fires = await FireCollector.start(nc, namespace(prefix));
    cleanups.push(() => fires.stop());
    await api(nc, prefix, "queue", perSecond);
    await fires.waitFires("tick", 2, 5_000);
    const t = Date.now();
    await a.stop();
    await waitFor(() => b.isLeader(), { timeoutMs: 3_000, message: "follower took over" });
    expect(Date.now() - t).toBeLessThan(leaseTtlMs);
    const n = fires.of("tick").length;
    await fires.waitFires("tick", n + 2, 5_000);
    expectContiguousOnce(fires.of("tick"));
  });
});

// ---- child processes ----

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const mainJs = join(pkgDir, "dist", "main.js");

/** Builds dist/ when it is missing or older than a source file (the spawned replicas run the build). */
function ensureBuilt(): void {
  const newestSrc = Math.max(
    ...readdirSync(join(pkgDir, "src")).map((f) => statSync(join(pkgDir, "src", f)).mtimeMs),
  );
  if (existsSync(mainJs) && statSync(mainJs).mtimeMs >= newestSrc) return;
  execFileSync(
    process.execPath,
    [resolve(pkgDir, "../../node_modules/typescript/bin/tsc"), "-p", join(pkgDir, "tsconfig.build.json")],
    {
      stdio: "inherit",
    },
  );
}

function spawnReplica(prefix: string, replicaId: string): ChildProcess {
  const child = spawn(process.execPath, [mainJs], {
    env: {
      ...process.env,
      NATS_URL: nats.url,
      TASKJET_PREFIX: prefix,
      TASKJET_REPLICA_ID: replicaId,
      TASKJET_LOG_LEVEL: process.env["TEST_LOG_LEVEL"] ?? "warn",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  return child;
}

describe("child-process replicas", () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it("SIGKILL of the leader: a follower fires again within 3 s, no nominal second lost or duplicated", async () => {
    const prefix = uniqueName("k");
    const ns = namespace(prefix);
    const children = new Map([
      ["r1", spawnReplica(prefix, "r1")],
      ["r2", spawnReplica(prefix, "r2")],
    ]);
    const leaderOf = async () =>
      (await request<SchedulerStatus>(nc, ns.sys("status"), {}, { timeoutMs: 2_000 })).leader;
    await waitFor(leaderOf, { timeoutMs: 20_000, message: "a child replica became leader" });
    await waitFor(
      async () => (await request<SchedulerStatus>(nc, ns.sys("status"), {})).replicas.length === 2,
      {
        timeoutMs: 10_000,
        message: "both replicas registered",
      },
    );
    const fires = await FireCollector.start(nc, ns);
    cleanups.push(() => fires.stop());
    await api(nc, prefix, "queue", perSecond);
    await fires.waitFires("tick", 3, 8_000);
    // the replica to kill: the one whose epoch the latest fires carry (leadership may have moved once
    // already on a busy machine)
    const leader = await waitFor(
      async () => {
        const l = await leaderOf();
        return l && fires.of("tick").at(-1)?.epoch === String(l.epoch) ? l : undefined;
      },
      { timeoutMs: 8_000, message: "the current leader" },
    );

    const killedAt = Date.now();
    children.get(leader.replicaId)!.kill("SIGKILL");
    const oldEpoch = String(leader.epoch);
    const resumed = await waitFor(
      () => fires.of("tick").find((f) => f.receivedAt >= killedAt && f.epoch !== oldEpoch),
      { timeoutMs: 10_000, message: "a fire from the new leader" },
    );
    const takeoverMs = resumed.receivedAt - killedAt;
    if (process.env["TEST_VERBOSE"])
      console.log(`takeover after SIGKILL: first new fire ${takeoverMs} ms after the kill`);
    const n = fires.of("tick").length;
    await fires.waitFires("tick", n + 3, 8_000);

    expect(takeoverMs, "first fire of the new leader after the kill (ms)").toBeLessThanOrEqual(3_000);
    const newLeader = await waitFor(leaderOf);
    expect(newLeader.replicaId).not.toBe(leader.replicaId);
    expect(newLeader.epoch).toBeGreaterThan(leader.epoch);
    expectContiguousOnce(fires.of("tick"));
    // after the kill only the new epoch fires
    expect(
      fires
        .of("tick")
        .filter((f) => f.receivedAt > resumed.receivedAt)
        .every((f) => f.epoch === String(newLeader.epoch)),
    ).toBe(true);
  });

  it("SIGTERM stops a replica gracefully and releases the lease", async () => {
    const prefix = uniqueName("k");
    const ns = namespace(prefix);
    const child = spawnReplica(prefix, "solo");
    await waitFor(
      async () => (await request<SchedulerStatus>(nc, ns.sys("status"), {}, { timeoutMs: 2_000 })).leader,
      {
        timeoutMs: 20_000,
      },
    );
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    // released, not left to expire: the key is gone (a delete marker) right away
    const lease = await new Kvm(nc).open(ns.buckets.lease);
    expect((await lease.get("scheduler"))?.operation ?? "DEL").not.toBe("PUT");
  });
});
