/**
 * A full store answers RESOURCE_EXHAUSTED (retryable), over nats.js' KV and the lean path alike: the job
 * bucket at its max bytes (JetStream err_code 10077), and a server whose JetStream storage is used up
 * (max_file_store in the server's config, err_code 10023).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import {
  initialState,
  namespace,
  parseJobInput,
  ResourceExhaustedError,
  type JobRecord,
} from "@taskjet/protocol";
import { ensureTopology, JobStore, leanJobStore, PublishBatch, RequestMux } from "@taskjet/nats";
import { connectTo, startNats, uniqueName, type NatsServerFixture } from "@taskjet/testing";

const confDir = mkdtempSync(join(tmpdir(), "taskjet-storefull-"));
let nats: NatsServerFixture;
let nc: NatsConnection;
const muxes: RequestMux[] = [];

beforeAll(async () => {
  // room for the topology's streams and a few hundred KB of jobs, no more
  const conf = join(confDir, "tiny.conf");
  writeFileSync(conf, "jetstream { max_file_store: 600000 }\n");
  nats = await startNats({ args: ["-c", conf] });
  nc = await connectTo(nats.url);
});
afterAll(async () => {
  for (const m of muxes) m.close();
  await nc?.close();
  await nats?.stop();
  rmSync(confDir, { recursive: true, force: true });
});

/** A job whose args make it about `bytes` long once stored. */
function bigRecord(id: string, bytes: number): JobRecord {
  const def = { ...parseJobInput({ id, name: id, type: "console", args: { pad: "x".repeat(bytes) } }), id };
  return { def, state: initialState(new Date().toISOString()) };
}

type Client = "nats.js KV" | "lean KV";

async function openStore(client: Client, maxBytes?: number) {
  const ns = namespace(uniqueName("sf"));
  const topo = await ensureTopology(nc, ns);
  if (maxBytes !== undefined) {
    const jsm = await jetstreamManager(nc);
    const name = `KV_${ns.buckets.jobs}`;
    const info = await jsm.streams.info(name);
    await jsm.streams.update(name, { ...info.config, max_bytes: maxBytes });
  }
  if (client === "nats.js KV") return new JobStore(topo.jobs, ns);
  const mux = new RequestMux(nc, new PublishBatch(nc));
  muxes.push(mux);
  const { kv, latest } = await leanJobStore(topo, ns, mux);
  return new JobStore(kv, ns, latest);
}

/** Creates jobs until the store refuses one; returns that error and the ids stored before it. */
async function fill(store: JobStore, bytes: number, most = 200): Promise<{ err: unknown; ids: string[] }> {
  const ids: string[] = [];
  for (let i = 0; i < most; i++) {
    try {
      await store.create(bigRecord(`j${i}`, bytes));
      ids.push(`j${i}`);
    } catch (err) {
      return { err, ids };
    }
  }
  throw new Error(`the store took ${most} jobs of ${bytes} bytes without refusing one`);
}

describe.each<Client>(["nats.js KV", "lean KV"])("a full store over %s", (client) => {
  it("the bucket at its max bytes refuses a create with RESOURCE_EXHAUSTED; a remove frees room", async () => {
    const store = await openStore(client, 64 * 1024);
    const { err, ids } = await fill(store, 10_000);
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect(err).toMatchObject({ code: "RESOURCE_EXHAUSTED", retryable: true, details: { jsErrCode: 10077 } });
    expect(ids.length).toBeGreaterThan(0);
    // a key's delete marker replaces its value (history 1): a full bucket can still be emptied
    await store.remove(`default.default.${ids[0]}`);
    expect(await store.create(bigRecord("after-remove", 10_000))).toBeGreaterThan(0);
  });

  it("a server out of JetStream storage refuses a create with RESOURCE_EXHAUSTED", async () => {
    const store = await openStore(client);
    const { err } = await fill(store, 50_000);
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect(err).toMatchObject({ code: "RESOURCE_EXHAUSTED", retryable: true, details: { jsErrCode: 10023 } });
    // free the server's room for the next case
    const jsm = await jetstreamManager(nc);
    await jsm.streams.purge(`KV_${store.ns.buckets.jobs}`);
  });
});
