import { describe, expect, it } from "vitest";
import type { KV } from "@nats-io/kv";
import { ensureTopology, JobStore } from "@taskjet/nats";
import { initialState, namespace, parseJobInput, type JobRecord } from "@taskjet/protocol";
import { JobIndex } from "../src/view/jobIndex.js";
import { hotRecordCount } from "../src/view/jobEntry.js";
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
  it("keeps no decoded record of a finished or deleted job (the fire cache holds firing jobs only)", async () => {
    const { store, index } = await openIndex();
    await index.start();
    const base = hotRecordCount();
    // 200 jobs read as a fire reads them: cached
    for (let i = 0; i < 200; i++) await store.create(record(i));
    await waitFor(() => index.size === 200, { message: "200 puts seen" });
    for (const e of index.all()) e.record();
    expect(hotRecordCount()).toBe(base + 200);
    // 100 of them finish: a new stored version takes the old decoded record out, and the finished one's
    // bookkeeping read (retention) does not put it back
    for (let i = 0; i < 100; i++) {
      await store.mutate(store.keyOf(record(i)), (j) => ({
        ...j,
        state: { ...j.state, status: "completed" },
      }));
    }
    await waitFor(() => [...index.finished()].length === 100, { message: "100 finished jobs seen" });
    expect(hotRecordCount()).toBe(base + 100);
    // the other 100 are deleted: their decoded records go with them
    for (let i = 100; i < 200; i++) await store.remove(store.keyOf(record(i)));
    await waitFor(() => index.size === 100, { message: "100 deletes seen" });
    expect(hotRecordCount()).toBe(base);
  });

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

  it("lists in key order across adds, updates and deletes, and searches names by the exact rule", async () => {
    const { store, index } = await openIndex();
    await index.start();
    const named = (i: number, name: string, group = "g"): JobRecord => {
      const r = record(i);
      return { ...r, def: { ...r.def, name, group } };
    };
    const names = [
      "Nightly Export",
      "export weekly",
      "EXPORTS for ÄÖÜ",
      "\u212Aelvin report", // KELVIN SIGN: lowercases to "kelvin report"
      "\u0130stanbul sync", // capital I with dot: lowercases to "i̇stanbul sync"
      "größe prüfen",
      "args only",
    ];
    for (let i = 0; i < names.length; i++) await store.create(named(i, names[i]!, i % 2 ? "b" : "a"));
    // the args carry the needle too: bytes match, the name does not
    await store.mutate(store.keyOf(named(6, "args only", "a")), (j) => ({
      ...j,
      def: { ...j.def, args: { note: "export" } },
    }));
    expect(await index.catchUp(10_000)).toBe(true);
    const ids = (f: Parameters<JobIndex["list"]>[1]) => index.list("default", f).map((e) => e.id);
    const keys = () => index.list("default", {}).map((e) => e.key);
    expect(keys()).toEqual([...keys()].sort());
    expect(ids({ name: "export" })).toEqual(["j0", "j2", "j1"]); // a.j0, a.j2, b.j1 (key order)
    expect(ids({ name: "EXPORT" })).toEqual(["j0", "j2", "j1"]);
    expect(ids({ name: "kelvin" })).toEqual(["j3"]);
    expect(ids({ name: "i\u0307stanbul" })).toEqual(["j4"]);
    expect(ids({ name: "öss" })).toEqual([]);
    expect(ids({ name: "grösse" })).toEqual([]);
    expect(ids({ name: "größe" })).toEqual(["j5"]);
    expect(ids({ name: "äöü" })).toEqual(["j2"]);
    expect(ids({ name: "ex.ort" })).toEqual([]); // not a pattern
    // an update keeps the order; an add and a delete change it
    await store.mutate(store.keyOf(named(0, "x", "a")), (j) => ({
      ...j,
      state: { ...j.state, triggerCount: 9 },
    }));
    await store.create(named(10, "export again", "a"));
    await store.remove(store.keyOf(named(2, "x", "a")));
    expect(await index.catchUp(10_000)).toBe(true);
    expect(ids({ name: "export" })).toEqual(["j0", "j10", "j1"]);
    expect(keys()).toEqual([...keys()].sort());
    expect(keys()).toHaveLength(names.length);
  });
});
