/**
 * A takeover that cannot make progress backs off (issue 18): the new leader gives the lease up and waits,
 * longer each time and with jitter, before it campaigns again. Before, it re-acquired at once and looped
 * (460-730 acquisitions in 4-10 s after a partition healed, "JetStream system temporarily unavailable").
 */
import { Kvm } from "@nats-io/kv";
import { encode } from "@taskjet/protocol";
import { describe, expect, it } from "vitest";
import { CURSOR_KEY, SchedulerService, takeoverBackoffMs } from "../src/index.js";
import { cleanups, namespace, nc, testOptions, uniqueName, useNatsServer, waitFor } from "./harness.js";

useNatsServer();

describe("takeover backoff", () => {
  it("pauses grow from one lease time, doubling up to 30 s, with jitter", () => {
    expect(takeoverBackoffMs(1, 2_000, () => 0.5)).toBe(2_000);
    expect(takeoverBackoffMs(2, 2_000, () => 0.5)).toBe(4_000);
    expect(takeoverBackoffMs(20, 2_000, () => 0.5)).toBe(30_000);
    expect(takeoverBackoffMs(1, 2_000, () => 0)).toBe(1_000);
    expect(takeoverBackoffMs(1, 2_000, () => 0.999)).toBe(2_998);
  });

  it("a leader whose takeover keeps failing gives the lease up and comes back after a pause, not in a loop", async () => {
    const prefix = uniqueName("tko");
    const ns = namespace(prefix);
    const s = new SchedulerService(testOptions(nc, prefix, { leaseTtlMs: 500, topology: {} }));
    cleanups.push(() => s.stop());
    await s.start();
    await waitFor(() => s.isLeader(), { message: "first leadership" });
    await s.standby();
    // the fire cursor belongs to an epoch far ahead: every takeover fails when it claims the cursor
    const sched = await new Kvm(nc).open(ns.buckets.sched);
    await sched.put(CURSOR_KEY, encode({ epoch: 1e9, firedThroughMs: null, replicaId: "elsewhere" }));
    const failures: { atMs: number; pauseMs: number }[] = [];
    s.events.on("leader:takeoverFailed", (f) => failures.push({ atMs: Date.now(), pauseMs: f.pauseMs }));
    await s.activate();
    await waitFor(() => failures.length >= 3, { timeoutMs: 20_000, message: "three failed takeovers" });
    // each next attempt came only after the pause the failure before it announced (the loop came back at once)
    for (let i = 1; i < failures.length; i++) {
      expect(failures[i]!.atMs - failures[i - 1]!.atMs).toBeGreaterThanOrEqual(failures[i - 1]!.pauseMs);
    }
    expect(failures[0]!.pauseMs).toBeGreaterThanOrEqual(250);
    expect(failures[2]!.pauseMs).toBeGreaterThanOrEqual(1_000);
  });
});
