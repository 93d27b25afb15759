import { describe, expect, it } from "vitest";
import { namespace } from "@taskjet/protocol";
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
});
