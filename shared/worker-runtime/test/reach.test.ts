/**
 * Held fires start only while the worker's writes get through to the cluster (reach.ts, issue 18): the
 * Reach rule with a manual clock, and a worker on a 3-node R3 cluster whose other two nodes stop (SIGSTOP)
 * while it holds fires for their instant: it hands them back instead of running them, and once the nodes
 * come back each fire runs exactly once.
 */
import { afterAll, describe, expect, it } from "vitest";
import { startCluster, waitFor, type NatsClusterFixture } from "@taskjet/testing";
import { Reach } from "../src/intake/reach.js";
import { TestEnv } from "./helpers.js";

describe("Reach", () => {
  it("answers true at once after a recent write, probes once for everyone otherwise, and counts failures", async () => {
    let now = 1_000;
    let probes = 0;
    let answer: ((ok: boolean) => void) | undefined;
    const reach = new Reach(
      () => {
        probes++;
        return new Promise(
          (resolve, reject) => (answer = (ok) => (ok ? resolve(undefined) : reject(new Error("no")))),
        );
      },
      500,
      60_000,
      () => now,
    );
    // nothing got through yet: a probe, shared by every caller meanwhile
    const first = reach.confirm();
    const second = reach.confirm();
    expect(first).toBeInstanceOf(Promise);
    expect(second).toBe(first);
    expect(probes).toBe(1);
    answer!(true);
    await expect(first).resolves.toBe(true);
    // the probe's success counts as a write: fresh for 500 ms
    now += 500;
    expect(reach.confirm()).toBe(true);
    now += 1;
    const third = reach.confirm();
    expect(probes).toBe(2);
    answer!(false);
    await expect(third).resolves.toBe(false);
    expect(reach.failedProbes).toBe(1);
    // a write that got through by another way (an outcome, a heartbeat) makes it fresh again
    reach.mark();
    expect(reach.confirm()).toBe(true);
  });

  it("a probe that never answers is a failure after the timeout", async () => {
    const reach = new Reach(() => new Promise(() => undefined), 0, 50);
    await expect(reach.confirm()).resolves.toBe(false);
    expect(reach.failedProbes).toBe(1);
  });
});

describe("held fires on a worker cut off from the cluster's majority", () => {
  let cluster: NatsClusterFixture | undefined;
  let env: TestEnv | undefined;
  const stopped: number[] = [];
  afterAll(async () => {
    for (const pid of stopped) process.kill(pid, "SIGCONT");
    await env?.close();
    await cluster?.stop();
  });

  it("are handed back, not run, and each runs exactly once when the cluster is whole again", async () => {
    cluster = await startCluster({ size: 3 });
    // the test's connection and the worker's go to node 0 only: the node that stays up
    env = await new TestEnv(cluster.nodes[0]!, { replicas: 3 }).init();
    const w = env.worker({ node: "reach1", concurrency: 10, requestTimeoutMs: 2_000 });
    const runs = new Map<string, number>();
    const held = new Set<string>();
    const unreachable = new Set<string>();
    w.register("held", async (ctx) => {
      runs.set(ctx.fireId, (runs.get(ctx.fireId) ?? 0) + 1);
    });
    w.events.on("run:held", (e) => held.add(e.fire.fireId));
    w.events.on("run:unreachable", (e) => unreachable.add(e.fire.fireId));
    await w.start();

    const defs = await Promise.all(
      Array.from({ length: 5 }, () => env!.job({ type: "held", nodeName: "reach1" })),
    );
    const nominalTime = new Date(Date.now() + 4_000);
    const fires = await Promise.all(defs.map((d) => env!.fire(d, { nominalTime })));
    await waitFor(() => fires.every((f) => held.has(f.fireId)), {
      message: "every fire held for its instant",
    });

    // the other two nodes stop: node 0 is up, but no write reaches a quorum
    for (const i of [1, 2]) {
      const pid = cluster.nodes[i]!.pid!;
      process.kill(pid, "SIGSTOP");
      stopped.push(pid);
    }
    try {
      await waitFor(() => fires.every((f) => unreachable.has(f.fireId)), {
        timeoutMs: 20_000,
        message: "every held fire handed back at its instant",
      });
      expect(runs.size).toBe(0);
    } finally {
      for (const pid of stopped.splice(0)) process.kill(pid, "SIGCONT");
    }

    await waitFor(() => fires.every((f) => runs.get(f.fireId) === 1), {
      timeoutMs: 90_000,
      intervalMs: 200,
      message: () => `every fire ran once the cluster was whole (runs: ${JSON.stringify([...runs])})`,
    });
    // nothing is left to come back: every consumer has nothing waiting and nothing unacked
    await waitFor(
      async () => {
        for await (const c of env!.topo.jsm.consumers.list(env!.ns.streams.run))
          if (c.num_pending > 0 || c.num_ack_pending > 0) return false;
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 250, message: "every fire acked" },
    );
    expect(fires.map((f) => runs.get(f.fireId))).toEqual(fires.map(() => 1));
  });
});
