/**
 * Accepted once jobs on a replicated cluster (issue 13): a 3-node cluster, every stream and bucket R3, the
 * scheduler, the worker and the client each connected to a different node. Every accepted once job runs
 * exactly once: none is skipped as "removed" because a replica that had not yet applied its write answered
 * the worker's read, and none runs twice. Both lanes: through the scheduler (the stored job the worker reads,
 * what the leader read fixed) and the fast lane (the message is the record).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NatsConnection } from "@nats-io/nats-core";
import { connectTo, startCluster, uniqueName, waitFor, type NatsClusterFixture } from "@taskjet/testing";
import { SchedulerService } from "@taskjet/scheduler";
import { createWorker, type Worker } from "@taskjet/worker-runtime";
import { createClient } from "@taskjet/client";

const JOBS = Number(process.env["TASKJET_CLUSTER_ONCE_JOBS"] ?? 4000);

let cluster: NatsClusterFixture;
const conns: NatsConnection[] = [];
beforeAll(async () => {
  cluster = await startCluster({ size: 3 });
});
afterAll(async () => {
  for (const nc of conns) await nc.close().catch(() => undefined);
  await cluster?.stop();
});

async function connect(i: number): Promise<NatsConnection> {
  const nc = await connectTo(cluster.urls[i]!, { maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  conns.push(nc);
  return nc;
}

describe("once jobs on a 3-node R3 cluster", () => {
  it.each([
    ["through the scheduler", false],
    ["on the fast lane", true],
  ])(
    `${JOBS} once jobs queued one by one %s: each runs exactly once, none skipped`,
    async (_lane, fastLane) => {
      const prefix = uniqueName("tj");
      const topology = { replicas: 3 };
      const scheduler = new SchedulerService({ nats: await connect(0), prefix, topology });
      await scheduler.start();
      const worker: Worker = createWorker({
        nc: await connect(1),
        prefix,
        node: "n1",
        topology,
        concurrency: 50,
      });
      const runs = new Map<string, number>();
      const skipped: string[] = [];
      worker.register("noop", (ctx) => {
        runs.set(ctx.job.id, (runs.get(ctx.job.id) ?? 0) + 1);
        return Promise.resolve();
      });
      worker.events.on("run:skipped", (e) => skipped.push(`${e.fire.jobId}: ${e.reason}`));
      await worker.start();
      try {
        const client = createClient(await connect(2), { prefix, tenant: "default", fastLane });
        await waitFor(() => client.scheduler.status().then((s) => s.leader !== undefined), {
          timeoutMs: 30_000,
          message: "a scheduler leader",
        });
        const ids: string[] = [];
        const inFlight = new Set<Promise<unknown>>();
        for (let i = 0; i < JOBS; i++) {
          const id = `j${i}`;
          ids.push(id);
          const p = client.scheduler.queue({ id, name: id, type: "noop" }).finally(() => inFlight.delete(p));
          inFlight.add(p);
          if (inFlight.size >= 20) await Promise.race(inFlight);
        }
        await Promise.all(inFlight);
        await waitFor(() => runs.size + skipped.length >= JOBS, {
          timeoutMs: 120_000,
          message: `all ${JOBS} jobs settled`,
        });
        expect(skipped).toEqual([]);
        expect(ids.filter((id) => !runs.has(id))).toEqual([]);
        expect([...runs].filter(([, n]) => n > 1)).toEqual([]);
      } finally {
        await worker.stop();
        await scheduler.stop();
      }
    },
    240_000,
  );
});
