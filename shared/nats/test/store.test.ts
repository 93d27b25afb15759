import { afterAll, describe, expect, it } from "vitest";
import { initialState, namespace, parseJobInput, ConflictError, type JobRecord } from "@taskjet/protocol";
import {
  ensureTopology,
  JobStore,
  leanJobStore,
  PublishBatch,
  RequestMux,
  type StoreChange,
} from "@taskjet/nats";
import { uniqueName, useNatsServer, waitFor } from "@taskjet/testing";

const nats = useNatsServer();
const muxes: RequestMux[] = [];
afterAll(() => {
  for (const m of muxes) m.close();
});

function record(id: string, group = "g1", tenantId = "t1"): JobRecord {
  const def = { ...parseJobInput({ id, name: id, type: "console", group, tenantId }), id };
  return { def, state: initialState(new Date().toISOString()) };
}

type Client = "nats.js KV" | "lean KV";

async function openStoreWith(client: Client) {
  const ns = namespace(uniqueName("st"));
  const topo = await ensureTopology(nats.nc, ns);
  if (client === "nats.js KV") return new JobStore(topo.jobs, ns);
  const mux = new RequestMux(nats.nc, new PublishBatch(nats.nc));
  muxes.push(mux);
  const { kv, latest } = await leanJobStore(topo, ns, mux, (err) => {
    throw err;
  });
  // the bucket allows direct gets: the lean path is in use (identity only: matchers walk the proxy)
  expect(kv === topo.jobs).toBe(false);
  return new JobStore(kv, ns, latest);
}

// the same contract over nats.js' KV client and the lean request path the scheduler and workers use
describe.each<Client>(["nats.js KV", "lean KV"])("JobStore over %s", (client) => {
  const openStore = () => openStoreWith(client);

  it("creates once: a second create of the same key is a no-op", async () => {
    const store = await openStore();
    expect(await store.create(record("a"))).toBeGreaterThan(0);
    expect(await store.create(record("a"))).toBeUndefined();
    expect((await store.get("t1.g1.a"))?.def.name).toBe("a");
  });

  it("update is compare-and-set: a stale revision is a ConflictError and changes nothing", async () => {
    const store = await openStore();
    const rev = (await store.create(record("a")))!;
    const r = record("a");
    r.state.triggerCount = 1;
    await store.update("t1.g1.a", r, rev);
    r.state.triggerCount = 99;
    await expect(store.update("t1.g1.a", r, rev)).rejects.toBeInstanceOf(ConflictError);
    expect((await store.get("t1.g1.a"))?.state.triggerCount).toBe(1);
  });

  it("mutate never loses a concurrent update", async () => {
    const store = await openStore();
    await store.create(record("a"));
    const writers = 20;
    await Promise.all(
      Array.from({ length: writers }, () =>
        store.mutate(
          "t1.g1.a",
          (j) => ({ ...j, state: { ...j.state, triggerCount: j.state.triggerCount + 1 } }),
          100,
        ),
      ),
    );
    expect((await store.get("t1.g1.a"))?.state.triggerCount).toBe(writers);
  });

  it("finds a key by tenant and id, and lists by tenant and group", async () => {
    const store = await openStore();
    await store.create(record("a", "g1", "t1"));
    await store.create(record("b", "g2", "t1"));
    await store.create(record("c", "g1", "t2"));
    expect(await store.findKey("t1", "b")).toBe("t1.g2.b");
    expect(await store.findKey("t1", "c")).toBeUndefined();
    expect((await store.list("t1.>")).map((j) => j.def.id).sort()).toEqual(["a", "b"]);
    expect((await store.list("*.g1.*")).map((j) => j.def.id).sort()).toEqual(["a", "c"]);
    expect(await store.list("t9.>")).toEqual([]);
  });

  it("watch delivers the snapshot, is ready after it, then follows changes and deletes", async () => {
    const store = await openStore();
    await store.create(record("a"));
    await store.create(record("b"));
    const changes: StoreChange[] = [];
    const w = await store.watch((c) => changes.push(c));
    await w.ready;
    expect(changes.map((c) => c.key).sort()).toEqual(["t1.g1.a", "t1.g1.b"]);
    await store.remove("t1.g1.a");
    await store.create(record("c"));
    await waitFor(() => changes.length >= 4, { message: "watch saw the delete and the create" });
    expect(changes.slice(2).map((c) => `${c.kind}:${c.key}`)).toEqual(["delete:t1.g1.a", "put:t1.g1.c"]);
    w.stop();
  });

  it("watch on an empty bucket is ready at once", async () => {
    const store = await openStore();
    const w = await store.watch(() => undefined);
    await w.ready;
    w.stop();
  });

  it("a removed job reads as absent, and mutate says NOT_FOUND", async () => {
    const store = await openStore();
    await store.create(record("a"));
    await store.remove("t1.g1.a");
    expect(await store.get("t1.g1.a")).toBeUndefined();
    await expect(store.mutate("t1.g1.a", (j) => j)).rejects.toMatchObject({ code: "NOT_FOUND" });
    // and it can be queued again
    expect(await store.create(record("a"))).toBeGreaterThan(0);
  });

  it("latest reads the leader's copy: the job, nothing for a missing or removed key", async () => {
    const store = await openStore();
    const rev = (await store.create(record("a")))!;
    expect(await store.latest("t1.g1.a")).toMatchObject({ revision: rev, def: { id: "a" } });
    expect(await store.latest("t1.g1.nope")).toBeUndefined();
    // a read that must be at least as new as a revision the caller knows gets the leader's copy
    expect((await store.get("t1.g1.a", rev))?.revision).toBe(rev);
    await store.remove("t1.g1.a");
    expect(await store.latest("t1.g1.a")).toBeUndefined();
    expect(await store.get("t1.g1.a", rev)).toBeUndefined();
  });

  it("remove with a stale revision is refused", async () => {
    const store = await openStore();
    const rev = (await store.create(record("a")))!;
    await store.mutate("t1.g1.a", (j) => ({ ...j, state: { ...j.state, triggerCount: 1 } }));
    await expect(store.remove("t1.g1.a", rev)).rejects.toBeInstanceOf(ConflictError);
    expect(await store.get("t1.g1.a")).toBeDefined();
  });
});
