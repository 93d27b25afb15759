/**
 * Operations: fencing of a deposed leader, the worker clock-skew check, the reaper of dead workers' runs,
 * and the admin shutdown.
 */
import { describe, expect, it } from "vitest";
import { Kvm } from "@nats-io/kv";
import { pino } from "pino";
import { request } from "@taskjet/nats";
import { encode, type WorkerInfo } from "@taskjet/protocol";
import { CURSOR_KEY, SchedulerService, schedulerMetrics } from "../src/index.js";
import {
  api,
  FireCollector,
  iso,
  namespace,
  readJob,
  startLeader,
  testOptions,
  uniqueName,
  waitFor,
  writeState,
  useNatsServer,
  nc,
  cleanups,
} from "./harness.js";

useNatsServer();

const worker = (workerId: string, seenAtMs: number): WorkerInfo => ({
  workerId,
  node: "n1",
  host: "h",
  pid: 1,
  types: ["noop"],
  concurrency: 1,
  running: 0,
  seenAt: iso(seenAtMs),
});

describe("fencing", () => {
  it("a leader whose cursor was claimed by a newer epoch stops firing, gives up the lease, and nothing fires twice", async () => {
    const prefix = uniqueName("x");
    const ns = namespace(prefix);
    const s = await startLeader(testOptions(nc, prefix));
    cleanups.push(() => s.stop());
    const fires = await FireCollector.start(nc, ns);
    cleanups.push(() => fires.stop());
    await api(nc, prefix, "queue", {
      id: "j",
      name: "j",
      type: "noop",
      jobType: "period",
      cron: "* * * * * ?",
    });
    await fires.waitFires("j", 2, 5_000);
    const lost = new Promise<string>((r) => s.events.once("leader:lost", (e) => r(e.reason)));
    const epochBefore = Number(fires.of("j")[0]!.epoch);
    // what a newer leader's takeover does first: claim the cursor with its epoch
    // (compare-and-set: the leader rewrites the cursor every 100 ms here, so a read may be stale by the write)
    const sched = await new Kvm(nc).open(ns.buckets.sched);
    await waitFor(
      async () => {
        const cur = await sched.get(CURSOR_KEY);
        const claim = encode({
          epoch: epochBefore + 1,
          firedThroughMs: null,
          jobsRevision: 0,
          writtenAt: "",
          replicaId: "other",
        });
        return sched.update(CURSOR_KEY, claim, cur!.revision).then(
          () => true,
          () => false,
        );
      },
      { message: "cursor claimed" },
    );
    expect(await lost).toBe("fenced");
    expect(s.metrics.fencedEvents).toBeGreaterThan(0);
    // it resigned and campaigns again: re-elected with a newer epoch, it carries on without repeating a fire
    await waitFor(() => fires.of("j").some((f) => Number(f.epoch) > epochBefore + 1), {
      timeoutMs: 8_000,
      message: "re-elected",
    });
    const n = fires.of("j").length;
    await fires.waitFires("j", n + 1, 5_000);
    const nominals = fires.nominals("j");
    expect(new Set(nominals).size).toBe(nominals.length);
  });
});

describe("workers' clocks and runs", () => {
  it("warns when a worker's clock is off by more than maxClockSkewMs: log line, event, Prometheus counter", async () => {
    const prefix = uniqueName("x");
    const ns = namespace(prefix);
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: "warn" }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const s = await startLeader(testOptions(nc, prefix, { maxClockSkewMs: 2_000, logger }));
    cleanups.push(() => s.stop());
    const prom = schedulerMetrics(s);
    const registry = await new Kvm(nc).open(ns.buckets.registry);
    await registry.put("worker.fast", encode(worker("fast", Date.now() + 5_000)));
    await registry.put("worker.good", encode(worker("good", Date.now())));
    const seen: { workerId: string; skewMs: number }[] = [];
    s.events.on("clock:skew", (e) => seen.push(e));
    const warned = await s.checkWorkerClocks();
    expect(warned.map((w) => w.workerId)).toEqual(["fast"]);
    expect(warned[0]!.skewMs).toBeGreaterThan(4_000);
    expect(warned[0]!.skewMs).toBeLessThan(6_000);
    expect(seen.map((w) => w.workerId)).toEqual(["fast"]);
    expect(s.metrics.clockSkewWarnings).toBe(1);
    const counter = await prom.getSingleMetric("taskjet_scheduler_clock_skew_warnings_total")!.get();
    expect(counter.values[0]?.value).toBe(1);
    const warning = lines.find((l) => l["workerId"] === "fast");
    expect(warning).toMatchObject({ level: 40, maxClockSkewMs: 2_000 });
    expect(String(warning!["msg"])).toMatch(/worker clock differs/);
    expect(lines.some((l) => l["workerId"] === "good")).toBe(false);
    const status = await request<{ workers: WorkerInfo[] }>(nc, ns.sys("status"), {});
    expect(status.workers.map((w) => w.workerId).sort()).toEqual(["fast", "good"]);
  });

  it("checks workers' clocks on its own every clockSkewCheckIntervalMs", async () => {
    const prefix = uniqueName("x");
    const ns = namespace(prefix);
    const s = await startLeader(testOptions(nc, prefix, { clockSkewCheckIntervalMs: 200 }));
    cleanups.push(() => s.stop());
    const seen: string[] = [];
    s.events.on("clock:skew", (e) => seen.push(e.workerId));
    const registry = await new Kvm(nc).open(ns.buckets.registry);
    await registry.put("worker.slow", encode(worker("slow", Date.now() - 10_000)));
    await waitFor(() => seen.length >= 2, { message: "two periodic skew warnings" });
    expect(new Set(seen)).toEqual(new Set(["slow"]));
  });

  it("the reaper clears runs of workers that stopped heartbeating", async () => {
    const prefix = uniqueName("x");
    const ns = namespace(prefix);
    const s = await startLeader(testOptions(nc, prefix));
    cleanups.push(() => s.stop());
    await api(nc, prefix, "queue", {
      id: "j",
      name: "j",
      type: "noop",
      jobType: "period",
      cron: "0 0 0 1 1 ?",
      overlapPolicy: "skip",
    });
    const registry = await new Kvm(nc).open(ns.buckets.registry);
    await registry.put("worker.alive", encode(worker("alive", Date.now())));
    const old = iso(Date.now() - 120_000);
    await writeState(nc, prefix, "default.default.j", {
      status: "running",
      running: [
        { fireId: "a", nominalTime: old, worker: "ghost", node: "n1", startedAt: old, attempt: 1 },
        { fireId: "b", nominalTime: old, worker: "alive", node: "n1", startedAt: old, attempt: 1 },
      ],
    });
    await api(nc, prefix, "list", {});
    expect(await s.reapDeadRuns()).toBe(1);
    const job = await readJob(nc, prefix, "default.default.j");
    expect(job!.state.running.map((r) => r.fireId)).toEqual(["b"]);
    expect(s.metrics.reapedRuns).toBe(1);
  });
});

describe("admin shutdown", () => {
  it("stops the replica it is addressed to, gracefully", async () => {
    const prefix = uniqueName("x");
    const ns = namespace(prefix);
    const s = new SchedulerService(testOptions(nc, prefix, { replicaId: "goner" }));
    cleanups.push(() => s.stop());
    await s.start();
    const stopped = new Promise<void>((r) => s.events.once("service:stopped", () => r()));
    expect(await request(nc, `${ns.sys("shutdown")}.goner`, {})).toEqual({
      replicaId: "goner",
      stopping: true,
    });
    await stopped;
    expect(s.role).toBe("standby");
    await expect(request(nc, ns.sys("status"), {}, { timeoutMs: 1_000 })).rejects.toMatchObject({
      code: "UNAVAILABLE",
    });
    // start() works again after a stop
    await s.start();
    await waitFor(() => s.isLeader());
  });
});
