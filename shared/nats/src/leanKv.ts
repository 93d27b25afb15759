/**
 * The job bucket's `get` and `update` over the lean request multiplexer, with nats.js' KV semantics, so a
 * JobStore built on it keeps its compare-and-set contract (`update` fails with nats.js' JetStreamApiError
 * 10071 on a stale revision, as kv.update does; JobStore turns it into ConflictError). Everything else goes
 * to the real KV.
 *
 *   get     $JS.API.DIRECT.GET.KV_<bucket>  {"last_by_subj": "$KV.<bucket>.<key>"}   (needs allow_direct)
 *           any replica of the bucket may answer, one that has not yet applied the latest write too
 *   latest  $JS.API.STREAM.MSG.GET.KV_<bucket>  {"last_by_subj": ...}   answered by the stream leader, so
 *           it sees every acknowledged write (leaderGetter; JobStore reads through it what a replica may
 *           have missed)
 *   update  $KV.<bucket>.<key>  header Nats-Expected-Last-Subject-Sequence: <revision>   -> PubAck
 *   create  update at revision 0; when the key's last entry is a delete marker, update at its revision
 *           (nats.js' create does the same)
 *
 * The scheduler stores every queued job this way and the worker every run outcome: at thousands a second,
 * nats.js' request() (a timer, a deferred and two stack-traced Errors per call) cost more than the write.
 */
import { JetStreamApiCodes, JetStreamApiError, JetStreamError, type ApiError } from "@nats-io/jetstream";
import type { Msg } from "@nats-io/nats-core";
import type { KV, KvEntry } from "@nats-io/kv";
import type { Namespace } from "@taskjet/protocol";
import { encodedHeaders } from "./encodedHeaders.js";
import { parsePubAck } from "./pubAck.js";
import type { RequestMux } from "./requestMux.js";
import type { Topology } from "./topology.js";

const te = new TextEncoder();
const td = new TextDecoder();

/** Wraps `kv` (the job bucket) so get/update use `mux`; call only when the bucket allows direct gets. */
export function leanKv(kv: KV, bucket: string, mux: RequestMux): KV {
  const stream = `KV_${bucket}`;
  const getSubject = `$JS.API.DIRECT.GET.${stream}`;
  const keySubject = (key: string) => `$KV.${bucket}.${key}`;

  async function get(key: string): Promise<KvEntry | null> {
    const m = await mux.request(getSubject, te.encode(`{"last_by_subj":${JSON.stringify(keySubject(key))}}`));
    const code = m.headers?.code ?? 0;
    if (m.data.length === 0 && code === 404) return null;
    if (code >= 400 || !m.headers) {
      // a status, not an API error: nats.js has no exported type for it (its own direct get throws its
      // internal JetStreamStatusError, a JetStreamError)
      throw new JetStreamError(`direct get of ${key} failed: ${code} ${m.headers?.description ?? ""}`);
    }
    return toEntry(bucket, key, m);
  }

  async function update(key: string, value: Uint8Array, revision: number): Promise<number> {
    const h = encodedHeaders([["Nats-Expected-Last-Subject-Sequence", String(revision)]]);
    const subject = keySubject(key);
    return parsePubAck(await mux.request(subject, value, h), subject).seq;
  }

  const latest = leaderGetter(bucket, mux);
  async function create(key: string, value: Uint8Array): Promise<number> {
    try {
      return await update(key, value, 0);
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.code !== JetStreamApiCodes.StreamWrongLastSequence)
        throw err;
      // the leader's word: a replica may not have applied the delete that frees the key
      const last = await latest(key);
      if (last?.operation === "DEL" || last?.operation === "PURGE") return update(key, value, last.revision);
      throw err;
    }
  }

  return new Proxy(kv, {
    get(target, prop, receiver) {
      if (prop === "get") return get;
      if (prop === "update") return update;
      if (prop === "create") return create;
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** A read of a key's last entry: `null` when the key never existed (or was purged away). */
export type KvReader = (key: string) => Promise<KvEntry | null>;

interface StoredMsgReply {
  message?: { subject: string; seq: number; hdrs?: string; data?: string; time: string };
  error?: ApiError;
}

/**
 * Reads a key's last entry from the bucket stream's leader (STREAM.MSG.GET is answered by the leader only,
 * a direct get by any replica): after a write was acknowledged, this read sees it.
 */
export function leaderGetter(bucket: string, mux: RequestMux): KvReader {
  const subject = `$JS.API.STREAM.MSG.GET.KV_${bucket}`;
  return async (key) => {
    const m = await mux.request(
      subject,
      te.encode(`{"last_by_subj":${JSON.stringify(`$KV.${bucket}.${key}`)}}`),
    );
    const reply = JSON.parse(td.decode(m.data)) as StoredMsgReply;
    if (reply.error) {
      if (reply.error.err_code === JetStreamApiCodes.NoMessageFound) return null;
      throw new JetStreamApiError(reply.error);
    }
    const sm = reply.message!;
    const hdrs = sm.hdrs ? Buffer.from(sm.hdrs, "base64").toString("latin1") : "";
    const op = /\r\nKV-Operation:\s*(DEL|PURGE)\s*\r\n/i.exec(hdrs)?.[1]?.toUpperCase();
    const value = sm.data ? new Uint8Array(Buffer.from(sm.data, "base64")) : new Uint8Array(0);
    return entry(bucket, key, value, sm.seq, new Date(sm.time), op === "DEL" || op === "PURGE" ? op : "PUT");
  };
}

function toEntry(bucket: string, key: string, m: Msg): KvEntry {
  const h = m.headers!;
  const op = h.get("KV-Operation");
  const operation = op === "DEL" || op === "PURGE" ? op : "PUT";
  return entry(
    bucket,
    key,
    m.data,
    Number(h.get("Nats-Sequence")),
    new Date(h.get("Nats-Time-Stamp")),
    operation,
  );
}

function entry(
  bucket: string,
  key: string,
  value: Uint8Array,
  revision: number,
  created: Date,
  operation: "PUT" | "DEL" | "PURGE",
): KvEntry {
  return {
    bucket,
    key,
    value,
    created,
    revision,
    delta: 0,
    operation,
    length: value.length,
    rawKey: key,
    json: <T>() => JSON.parse(td.decode(value)) as T,
    string: () => td.decode(value),
  } as KvEntry;
}

/**
 * The job store over the bucket of `t`: get/create/update on `mux` when the bucket allows direct gets
 * (buckets made by ensureTopology do), the plain KV client otherwise; reads that must see the latest write
 * go to the stream leader either way.
 */
export async function leanJobStore(
  t: Topology,
  ns: Namespace,
  mux: RequestMux,
  onFallback?: (err: unknown) => void,
): Promise<{ kv: KV; latest: KvReader }> {
  const latest = leaderGetter(ns.buckets.jobs, mux);
  try {
    const info = await t.jsm.streams.info(`KV_${ns.buckets.jobs}`);
    if (info.config.allow_direct) return { kv: leanKv(t.jobs, ns.buckets.jobs, mux), latest };
  } catch (err) {
    onFallback?.(err);
  }
  return { kv: t.jobs, latest };
}
