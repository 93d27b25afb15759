import { describe, expect, it } from "vitest";
import type { KV } from "@nats-io/kv";
import { ensureTopology, JobStore } from "@taskjet/nats";
import { initialState, namespace, parseJobInput, type JobRecord } from "@taskjet/protocol";
import { JobIndex } from "../src/jobIndex.js";
import { cleanups, nc, uniqueName, useNatsServer, waitFor } from "./harness.js";

useNatsServer();

function record(i: number): JobRecord {
  const def = parseJobInput({
    id: `j${i}`,
    name: `j${i}`,
    type: "noop",
    group: `g${i % 4}`,
    jobType: "period",
    cron: "0 0 3 1 1 ?",
  });
  return { def: { ...def, id: `j${i}` }, state: initialState(new Date().toISOString()) };
}

async function openIndex() {
  const ns = namespace(uniqueName("idx"));
  const topo = await ensureTopology(nc, ns, { memory: true });
  const store = new JobStore(topo.jobs, ns);
  const index = new JobIndex(topo.jobs, nc);
  const bad: string[] = [];
  index.onBadRecord = (key) => bad.push(key);
  cleanups.push(() => index.stop());
  return { store, index, kv: topo.jobs, bad };
}

/** key -> revision of every live key in the bucket except `skip` */
async function storeContents(kv: KV, skip: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const key of await kv.keys()) {
    const e = await kv.get(key);
    if (key !== skip && e?.operation === "PUT") out.set(key, e.revision);
  }
  return out;
}

describe("JobIndex", () => {
  it("loads while writes and deletes race it and ends with exactly the store's contents", async () => {
    const { store, index, kv, bad } = await openIndex();
    for (let i = 0; i < 1_500; i++) await store.create(record(i));
    await kv.put("t.g.broken", new Uint8Array([0xc1]));
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing || i < 300; i++) {
        const key = store.keyOf(record(i % 1_600));
        if (i % 4 === 0) await store.remove(key);
        else if (!(await store.create(record(i % 1_600))))
          await store.mutate(key, (j) => ({ ...j, state: { ...j.state, triggerCount: i } }));
      }
    })();
    await index.start();
    writing = false;
    await writer;
    expect(await index.catchUp(10_000)).toBe(true);
    const want = await storeContents(kv, "t.g.broken");
    const have = new Map([...index.all()].map((e) => [e.key, e.revision]));
    expect(have).toEqual(want);
    expect(index.revision).toBe((await kv.status()).streamInfo.state.last_seq);
    expect(bad).toEqual(["t.g.broken"]);
    expect(index.get("t.g.broken")).toBeUndefined();
  });

  it("keeps the view live after the load and skips a malformed value written later", async () => {
    const { store, index, kv, bad } = await openIndex();
    await index.start();
    const rev = (await store.create(record(1)))!;
    await waitFor(() => index.get(store.keyOf(record(1)))?.revision === rev, { message: "put seen" });
    await kv.put(store.keyOf(record(1)), new TextEncoder().encode("not msgpack of a job"));
    await waitFor(() => bad.length === 1, { message: "bad value reported" });
    // the malformed write is skipped: the last good version stays, and the view's revision moves past it
    expect(index.get(store.keyOf(record(1)))?.revision).toBe(rev);
    expect(index.revision).toBe((await kv.status()).streamInfo.state.last_seq);
    await store.remove(store.keyOf(record(1)));
    await waitFor(() => index.size === 0, { message: "delete seen" });
  });
});
