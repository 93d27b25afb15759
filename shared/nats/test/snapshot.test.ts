import { describe, expect, it } from "vitest";
import { Kvm, type KV } from "@nats-io/kv";
import { loadBucket, parseAckReply, type BucketOperation } from "@taskjet/nats";
import { uniqueName, useNatsServer } from "@taskjet/testing";

const nats = useNatsServer();

const bucket = (history = 1): Promise<KV> => new Kvm(nats.nc).create(uniqueName("snap"), { history });
const bytes = (s: string) => new TextEncoder().encode(s);

async function load(kv: KV) {
  const seen: { key: string; value: string; revision: number; op: BucketOperation }[] = [];
  const last = await loadBucket(nats.nc, kv, (key, value, revision, op) =>
    seen.push({ key, value: new TextDecoder().decode(value), revision, op }),
  );
  return { last, seen };
}

describe("loadBucket", () => {
  it("resolves at once on an empty bucket", async () => {
    const kv = await bucket();
    expect(await load(kv)).toEqual({ last: 0, seen: [] });
  });

  it("delivers every stored message once, in order, with delete and purge markers", async () => {
    const kv = await bucket();
    await kv.put("a.b", bytes("1"));
    await kv.put("c", bytes("2"));
    await kv.put("a.b", bytes("3"));
    await kv.put("d", bytes("4"));
    await kv.delete("c");
    await kv.put("e", bytes("5"));
    await kv.purge("d");
    const { last, seen } = await load(kv);
    expect(seen).toEqual([
      { key: "a.b", value: "3", revision: 3, op: "PUT" },
      { key: "c", value: "", revision: 5, op: "DEL" },
      { key: "e", value: "5", revision: 6, op: "PUT" },
      { key: "d", value: "", revision: 7, op: "PURGE" },
    ]);
    expect(last).toBe(7);
  });

  it("sends the revisions a bucket with history keeps, so applying them in order ends in its state", async () => {
    const kv = await bucket(5);
    await kv.put("k", bytes("1"));
    await kv.put("k", bytes("2"));
    await kv.put("j", bytes("3"));
    const { seen } = await load(kv);
    expect(seen.map((s) => [s.key, s.value])).toEqual([
      ["k", "1"],
      ["k", "2"],
      ["j", "3"],
    ]);
  });

  it("ends with the store's contents when writes and deletes race the load", async () => {
    const kv = await bucket();
    for (let i = 0; i < 2_000; i++) await kv.put(`k${i % 500}`, bytes(`v${i}`));
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const key = `k${i % 600}`;
        if (i % 3 === 0) await kv.delete(key);
        else await kv.put(key, bytes(`w${i}`));
      }
    })();
    const view = new Map<string, string>();
    let revision = 0;
    const apply = (key: string, value: string, rev: number, op: string) => {
      expect(rev).toBeGreaterThan(revision);
      revision = rev;
      if (op === "PUT") view.set(key, value);
      else view.delete(key);
    };
    const last = await loadBucket(nats.nc, kv, (key, value, rev, op) =>
      apply(key, new TextDecoder().decode(value), rev, op),
    );
    // follow from the next sequence, as the job index does, until the writer is done and we caught up
    const iter = await kv.watch({ key: ">", resumeFromRevision: last + 1 });
    writing = false;
    await writer;
    const end = (await kv.status()).streamInfo.state.last_seq;
    if (revision < end) {
      for await (const e of iter) {
        apply(e.key, new TextDecoder().decode(e.value), e.revision, e.operation);
        if (e.revision >= end) break;
      }
    }
    iter.stop();
    const stored = new Map<string, string>();
    for await (const key of await kv.keys()) {
      const e = await kv.get(key);
      if (e?.operation === "PUT") stored.set(key, e.string());
    }
    expect(view).toEqual(stored);
  });
});

describe("parseAckReply", () => {
  it("reads both reply formats", () => {
    expect(parseAckReply("$JS.ACK.KV_b.c1.1.42.7.1700000000000000000.3")).toEqual({
      streamSeq: 42,
      consumerSeq: 7,
      pending: 3,
    });
    expect(parseAckReply("$JS.ACK.dom.hash.KV_b.c1.1.42.7.1700000000000000000.0.tok")).toEqual({
      streamSeq: 42,
      consumerSeq: 7,
      pending: 0,
    });
    expect(parseAckReply("_INBOX.x")).toBeUndefined();
  });
});
