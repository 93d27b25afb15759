/**
 * Replicated streams need a server whose compare-and-set is serializable (nats-server#4320, fixed in
 * 2.9.21): on older servers concurrent KV updates with the same revision on an R3 bucket all succeed, so
 * a store write, a lease renewal or a cursor claim could be lost without anyone noticing (measured: 299 of
 * 300 races of four updates had several winners on 2.9.10, none on 2.10.27). This checks the server the
 * replicated tests run on (startCluster's binary) and that taskjet refuses replicas > 1 on an older one,
 * whether it creates the topology (scheduler) or only opens it (worker, gateway).
 */
import { afterAll, describe, expect, it } from "vitest";
import { jetstreamManager } from "@nats-io/jetstream";
import { FailedPreconditionError, namespace } from "@taskjet/protocol";
import { ensureTopology, versionAtLeast, FEATURES } from "@taskjet/nats";
import {
  connectTo,
  findExecutable,
  natsServerVersion,
  startCluster,
  uniqueName,
  type NatsClusterFixture,
} from "@taskjet/testing";

const clusters: NatsClusterFixture[] = [];
afterAll(async () => {
  for (const c of clusters) await c.stop();
});

describe("compare-and-set on a replicated cluster", () => {
  it("the replicated tests' server: of four concurrent updates with the same revision exactly one wins, 100 times (R3 job bucket)", async () => {
    const cluster = await startCluster({ size: 3 });
    clusters.push(cluster);
    const nc = await connectTo(cluster.urls);
    try {
      const { jobs } = await ensureTopology(nc, namespace(uniqueName("cas")), { replicas: 3 });
      const winners: number[] = [];
      for (let k = 0; k < 100; k++) {
        const rev = await jobs.put(`t.g.k${k}`, "0");
        const rs = await Promise.allSettled(
          [1, 2, 3, 4].map((i) => jobs.update(`t.g.k${k}`, String(i), rev)),
        );
        winners.push(rs.filter((r) => r.status === "fulfilled").length);
      }
      expect(winners.filter((w) => w !== 1)).toEqual([]);
    } finally {
      await nc.close();
    }
  }, 120_000);

  // the machine's nats-server (Debian bookworm: 2.9.10); where PATH has a newer one, replicas are allowed
  const onPath = findExecutable("nats-server");
  const pathVersion = onPath ? natsServerVersion(onPath) : "none";
  const old = onPath !== undefined && !versionAtLeast(pathVersion, FEATURES.serializableCas);
  it(`nats-server on PATH (${pathVersion}): ${old ? "replicas > 1 refused, naming topology.replicas, by a scheduler and a worker; replicas 1 works" : "replicas 3 allowed"}`, async () => {
    expect(onPath, "nats-server on PATH").toBeDefined();
    const cluster = await startCluster({ size: 3, binary: onPath! });
    clusters.push(cluster);
    const nc = await connectTo(cluster.urls);
    try {
      const ns = namespace(uniqueName("cas"));
      if (!old) {
        await ensureTopology(nc, ns, { replicas: 3 });
        return;
      }
      const created = await ensureTopology(nc, ns, { replicas: 3 }).catch((e: unknown) => e);
      expect(created).toBeInstanceOf(FailedPreconditionError);
      expect((created as FailedPreconditionError).field).toBe("topology.replicas");
      expect((created as Error).message).toMatch(
        /nats-server 2\.9\.\d+ does not serialize compare-and-set.*#4320/,
      );
      const jsm = await jetstreamManager(nc);
      const names: string[] = [];
      for await (const s of jsm.streams.names()) names.push(s);
      expect(
        names.filter((n) => n.includes(ns.prefix)),
        "nothing created",
      ).toEqual([]);

      // R1 is fine; a job bucket scaled to R3 behind taskjet's back is refused by those that only open it
      await ensureTopology(nc, ns, { replicas: 1 });
      const info = await jsm.streams.info(`KV_${ns.buckets.jobs}`);
      await jsm.streams.update(info.config.name, { ...info.config, num_replicas: 3 });
      const opened = await ensureTopology(nc, ns, { create: false }).catch((e: unknown) => e);
      expect(opened).toBeInstanceOf(FailedPreconditionError);
      expect((opened as Error).message).toContain(`the job bucket ${ns.buckets.jobs} has 3 replicas`);
    } finally {
      await nc.close();
    }
  }, 120_000);
});
