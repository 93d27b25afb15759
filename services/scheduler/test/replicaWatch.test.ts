/**
 * Issue 18: a stream copy stuck behind its leader is reported, on a 3-node R3 cluster. One node stops
 * (SIGSTOP: its copies fall behind and stay there, as the diverged copy of a heal did on nats-server 2.9.10);
 * the scheduler's replica watch flags its copies stuck after replicaStuckMs, in replicaHealth, the
 * taskjet_stream_replica_stuck gauge and /readyz (503, naming them); when the node runs again they catch up
 * and readiness comes back.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { NatsConnection } from "@nats-io/nats-core";
import { connectTo, startCluster, uniqueName, waitFor, type NatsClusterFixture } from "@taskjet/testing";
import { SchedulerService, startSchedulerOps } from "@taskjet/scheduler";
import type { OpsServer } from "@taskjet/observability";
import { testOptions } from "./harness.js";

let cluster: NatsClusterFixture | undefined;
let scheduler: SchedulerService | undefined;
let ops: OpsServer | undefined;
let nc: NatsConnection | undefined;
const stopped: number[] = [];
afterAll(async () => {
  for (const pid of stopped) process.kill(pid, "SIGCONT");
  await ops?.close();
  await scheduler?.stop();
  await nc?.close();
  await cluster?.stop();
});

async function get(path: string): Promise<{ status: number; body: string }> {
  const r = await fetch(`http://127.0.0.1:${ops!.port}${path}`);
  return { status: r.status, body: await r.text() };
}

describe("replica watch", () => {
  it("reports the copies of a stopped node stuck (health, gauge, readiness) and clears them when it runs again", async () => {
    cluster = await startCluster({ size: 3 });
    nc = await connectTo(cluster.nodes[0]!.url, { maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    scheduler = new SchedulerService({
      ...testOptions(nc, uniqueName("rw")),
      topology: { replicas: 3 },
      replicaCheckMs: 200,
      replicaStuckMs: 1_500,
    });
    await scheduler.start();
    ops = await startSchedulerOps(scheduler, 0);
    // every stream has its two followers listed, current
    const health = await scheduler.checkReplicas();
    expect(new Set(health.map((r) => r.stream)).size).toBe(3);
    expect(health.filter((r) => r.stuck)).toEqual([]);
    expect((await get("/readyz")).status).toBe(200);

    const victim = cluster.serverName(2);
    const pid = cluster.nodes[2]!.pid!;
    process.kill(pid, "SIGSTOP");
    stopped.push(pid);
    try {
      const stuck = await waitFor(
        () => {
          const s = scheduler!.replicaHealth().filter((r) => r.stuck);
          return s.length > 0 ? s : undefined;
        },
        {
          timeoutMs: 60_000,
          intervalMs: 200,
          message: () => `a copy on ${victim} reported stuck: ${JSON.stringify(scheduler!.replicaHealth())}`,
        },
      );
      // only the stopped node's copies (or a stream it led, without a leader for a moment)
      expect(stuck.every((r) => r.peer === victim || r.peer === "(leader)")).toBe(true);
      const ready = await get("/readyz");
      expect(ready.status).toBe(503);
      expect(ready.body).toContain("stream copies stuck");
      expect((await get("/metrics")).body).toMatch(
        new RegExp(`taskjet_stream_replica_stuck\\{stream="[^"]+",peer="${victim}"\\} 1`),
      );
    } finally {
      for (const p of stopped.splice(0)) process.kill(p, "SIGCONT");
    }
    await waitFor(() => scheduler!.replicaHealth().every((r) => !r.stuck && r.peer !== "(leader)"), {
      timeoutMs: 60_000,
      intervalMs: 200,
      message: () => `every copy caught up: ${JSON.stringify(scheduler!.replicaHealth())}`,
    });
    await waitFor(async () => (await get("/readyz")).status === 200, { message: "ready again" });
  }, 180_000);
});
