import { describe, expect, it } from "vitest";
import { namespace } from "@taskjet/protocol";
import { ensureTopology, Lease, LockProvider } from "@taskjet/nats";
import { Kvm } from "@nats-io/kv";
import { connectTo, uniqueName, useNatsServer, waitFor } from "@taskjet/testing";

const nats = useNatsServer();

const ttlMs = 1000;
async function topo() {
  return ensureTopology(nats.nc, namespace(uniqueName("ls")), { leaseTtlMs: ttlMs });
}

describe("Lease", () => {
  it("exactly one of two replicas leads; release hands over at once with a higher epoch", async () => {
    const t = await topo();
    const a = new Lease(t.lease, { ttlMs, holder: { replicaId: "a" } });
    const b = new Lease(t.lease, { ttlMs, holder: { replicaId: "b" } });
    a.start();
    await waitFor(() => a.isLeader(), { message: "a leads" });
    b.start();
    // b keeps trying; it must not lead while a renews
    const deadline = Date.now() + 3 * ttlMs;
    await waitFor(() => Date.now() > deadline || b.isLeader(), { timeoutMs: 5 * ttlMs });
    expect(b.isLeader()).toBe(false);
    expect(a.isLeader()).toBe(true);
    expect((await b.holder())?.replicaId).toBe("a");
    const epochA = a.epoch;
    await a.stop();
    await waitFor(() => b.isLeader(), { message: "b takes over after release" });
    expect(b.epoch).toBeGreaterThan(epochA);
    expect(await a.holder()).toMatchObject({ replicaId: "b", epoch: b.epoch });
    await b.stop();
  });

  it("a follower's failed tries are reported, except the usual answer that the lease is held", async () => {
    const ns = namespace(uniqueName("ls"));
    const t = await ensureTopology(nats.nc, ns, { leaseTtlMs: ttlMs });
    const a = new Lease(t.lease, { ttlMs, holder: { replicaId: "a" } });
    const errors: unknown[] = [];
    const b = new Lease(t.lease, {
      ttlMs,
      holder: { replicaId: "b" },
      onAcquireError: (e) => errors.push(e),
    });
    a.start();
    await waitFor(() => a.isLeader(), { message: "a leads" });
    b.start();
    // b tries every ttl/8 while a renews: held, so no error to report
    let tries = 0;
    const count = setInterval(() => tries++, ttlMs / 8);
    await waitFor(() => tries >= 8, { message: "b tried about 8 times" });
    clearInterval(count);
    expect(errors).toEqual([]);
    await a.stop();
    await waitFor(() => b.isLeader(), { message: "b takes over" });
    await b.stop();
    // its connection closed: a campaign's try fails for another reason, and says so
    const nc2 = await connectTo(nats.server.url);
    const kv2 = await new Kvm(nc2).open(ns.buckets.lease);
    await nc2.close();
    const c = new Lease(kv2, { ttlMs, holder: { replicaId: "c" }, onAcquireError: (e) => errors.push(e) });
    c.start();
    await waitFor(() => errors.length > 0, { message: "c reports a failed try" });
    expect(c.isLeader()).toBe(false);
    await c.stop();
  });

  it("a leader whose renew loses the compare-and-set steps down at once", async () => {
    const t = await topo();
    const a = new Lease(t.lease, { ttlMs, holder: { replicaId: "a" } });
    const changes: boolean[] = [];
    a.onChange((leader) => changes.push(leader));
    a.start();
    await waitFor(() => a.isLeader());
    // someone else writes the key (e.g. after an expiry we missed): the next renew fails its CAS
    await t.lease.put("scheduler", new Uint8Array([1]));
    await waitFor(() => !a.isLeader(), { message: "a steps down on a lost compare-and-set" });
    expect(changes).toEqual([true, false]);
    await a.stop();
  });

  it("a leader that cannot renew stops leading before a follower can take over", async () => {
    const t = await topo();
    const a = new Lease(t.lease, { ttlMs, holder: { replicaId: "a" } });
    a.start();
    await waitFor(() => a.isLeader());
    const lastRenewOk = performance.now();
    // simulate a SIGKILL: stop the loop without releasing
    (a as unknown as { running: boolean }).running = false;
    const b = new Lease(t.lease, { ttlMs, holder: { replicaId: "b" } });
    b.start();
    let overlap = false;
    b.onChange((leader) => {
      // the moment b leads, a must already have stopped acting as leader
      if (leader && a.isLeader()) overlap = true;
    });
    await waitFor(() => b.isLeader(), { timeoutMs: 5 * ttlMs, message: "b leads after expiry" });
    expect(overlap).toBe(false);
    expect(performance.now() - lastRenewOk).toBeGreaterThan(ttlMs - ttlMs / 4 - 50);
    await b.stop();
  });
});

describe("LockProvider", () => {
  it("is exclusive, expires, and releases", async () => {
    const t = await topo();
    let now = 1_000_000;
    const locks = new LockProvider(t.locks, () => now);
    const h1 = await locks.acquire("t.j", "w1", "f1", 5000);
    expect(h1).toBeDefined();
    expect(await locks.acquire("t.j", "w2", "f2", 5000)).toBeUndefined();
    expect((await locks.holder("t.j"))?.owner).toBe("w1");
    now += 6000; // w1 crashed and never released
    const h2 = await locks.acquire("t.j", "w2", "f2", 5000);
    expect(h2?.value.owner).toBe("w2");
    // the old holder's release must not free the new holder's lock
    await locks.release(h1!);
    expect((await locks.holder("t.j"))?.owner).toBe("w2");
    expect(await locks.extend(h2!, 5000)).toBe(true);
    await locks.release(h2!);
    expect(await locks.holder("t.j")).toBeUndefined();
  });
});
