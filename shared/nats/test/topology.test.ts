import { describe, expect, it } from "vitest";
import { jetstreamManager } from "@nats-io/jetstream";
import { namespace, UnavailableError } from "@taskjet/protocol";
import { ensureTopology } from "@taskjet/nats";
import { connectTo, uniqueName, useNatsServer } from "@taskjet/testing";

const nats = useNatsServer();

describe("ensureTopology", () => {
  it("is safe from many processes at once: concurrent creates of the same streams and buckets all succeed", async () => {
    const conns = await Promise.all(Array.from({ length: 6 }, () => connectTo(nats.server.url)));
    try {
      for (let round = 0; round < 5; round++) {
        const ns = namespace(uniqueName("topo"));
        const all = await Promise.all(conns.map((nc) => ensureTopology(nc, ns)));
        const buckets = await Promise.all(all.map(async (t) => (await t.jobs.status()).bucket));
        expect(buckets).toEqual(conns.map(() => ns.buckets.jobs));
      }
    } finally {
      await Promise.all(conns.map((c) => c.close()));
    }
  });

  it("create: false opens what a scheduler created and creates nothing; a missing stream is UNAVAILABLE, named", async () => {
    const ns = namespace(uniqueName("topo"));
    const err = await ensureTopology(nats.nc, ns, { create: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).details).toEqual({ stream: ns.streams.run });
    const jsm = await jetstreamManager(nats.nc);
    const names: string[] = [];
    for await (const s of jsm.streams.names()) names.push(s);
    expect(names.filter((n) => n.includes(ns.prefix))).toEqual([]);

    await ensureTopology(nats.nc, ns);
    const opened = await ensureTopology(nats.nc, ns, { create: false });
    const rev = await opened.jobs.put("t.g.a", "1");
    expect((await opened.jobs.get("t.g.a"))?.revision).toBe(rev);
    expect((await opened.lease.status()).bucket).toBe(ns.buckets.lease);
  });
});
