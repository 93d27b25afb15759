/**
 * Streams and buckets, created idempotently by whichever service starts first.
 *
 *   <p>-run   stream  subjects <p>.run.>   work queue, file, duplicate window (covers a leader takeover),
 *                                         discard new (a limit refuses new messages, never drops accepted jobs)
 *   <p>-log   stream  subjects <p>.log.>   limits: max age, messages, bytes (the run log; oldest go first)
 *   <p>-dlq   stream  subjects <p>.dlq.>   limits: max age, messages, bytes (dead letters; oldest go first)
 *   <p>-jobs  KV      key <tenant>.<group>.<id>  history 1; the job store
 *   <p>-lease KV      key `scheduler`      TTL = lease time; the leader lease
 *   <p>-locks KV      key <tenant>.<id>    per-job run locks (expiry inside the value)
 *   <p>-registry KV   replica.<id>, worker.<id>, type.<type>   heartbeats with TTL
 *   <p>-sched KV      scheduler bookkeeping (e.g. the fire cursor); no TTL
 *
 * `create: false` only opens them: it checks that the streams and the jobs, locks and registry buckets
 * exist (stream info) and fails with UNAVAILABLE naming the first missing one; the lease and sched buckets,
 * which only the scheduler uses, are bound unchecked. That is what a worker or gateway does when the
 * server's permissions (deploy/nats/) let only the scheduler create and change streams and buckets.
 *
 * Replicas > 1 need a server that serializes compare-and-set on replicated streams (2.9.21+, see
 * serverVersion.ts): both paths refuse older servers with FailedPreconditionError (`topology.replicas`).
 */
import type { NatsConnection } from "@nats-io/transport-node";
import {
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  DiscardPolicy,
  type StreamConfig,
  type JetStreamManager,
} from "@nats-io/jetstream";
import { Kvm, type KV, type KvOptions } from "@nats-io/kv";
import { nanos, TimeoutError } from "@nats-io/nats-core";
import { UnavailableError, withoutUndefined, type Namespace } from "@taskjet/protocol";
import { isCreateRace, isStreamNotFound } from "./natsErrors.js";
import { assertReplicasSafe } from "./serverVersion.js";

export interface TopologyOptions {
  /** stream and bucket replicas (1, 3 or 5) */
  replicas?: number;
  /** the run stream's duplicate window: a fire re-published inside it is stored once */
  duplicateWindowMs?: number;
  /** the run log's limits: the oldest entries go first when any is reached */
  logMaxAgeMs?: number;
  logMaxMessages?: number;
  logMaxBytes?: number;
  /** the dead-letter stream's limits */
  dlqMaxAgeMs?: number;
  dlqMaxMessages?: number;
  dlqMaxBytes?: number;
  leaseTtlMs?: number;
  registryTtlMs?: number;
  /** memory storage for benchmarks and tests that need no durability */
  memory?: boolean;
  /**
   * timeout of JetStream API calls through the returned buckets: creating a watcher over a bucket of a
   * million keys takes the server longer than nats.js's default 5 s
   */
  jsApiTimeoutMs?: number;
  /**
   * false: never create or update a stream or bucket, only check that they exist (the role then needs only
   * `$JS.API.STREAM.INFO.<stream>`, not CREATE/UPDATE); the other sizing options are then ignored
   */
  create?: boolean;
}

export const topologyDefaults = {
  replicas: 1,
  duplicateWindowMs: 5 * 60_000,
  logMaxAgeMs: 7 * 86_400_000,
  logMaxMessages: 1_000_000,
  // -1: no byte limit. A byte limit reserves that much of the server's JetStream storage when the stream
  // is made (a server with less refuses the stream), so the finite defaults are age and message counts
  logMaxBytes: -1,
  dlqMaxAgeMs: 30 * 86_400_000,
  dlqMaxMessages: 100_000,
  dlqMaxBytes: -1,
  leaseTtlMs: 2_000,
  registryTtlMs: 15_000,
  memory: false,
  jsApiTimeoutMs: 60_000,
  create: true,
} satisfies Required<TopologyOptions>;

export interface Topology {
  jsm: JetStreamManager;
  jobs: KV;
  lease: KV;
  locks: KV;
  registry: KV;
  sched: KV;
  options: Required<TopologyOptions>;
}

/**
 * Runs `create`; when it lost a race to another process's create of the same stream (isCreateRace), once
 * more after a pause (then it exists).
 */
async function retryCreateRace<T>(create: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (err) {
      if (attempt >= 3 || !isCreateRace(err)) throw err;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

/** Runs `call`; a request that got no answer (TimeoutError) is sent again until `deadline` (epoch ms). */
async function untilAnswered<T>(call: () => Promise<T>, deadline: number): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof TimeoutError) || Date.now() >= deadline) throw err;
    }
  }
}

async function ensureStream(
  jsm: JetStreamManager,
  deadline: number,
  cfg: Partial<StreamConfig> & { name: string },
): Promise<void> {
  await untilAnswered(() => ensureStreamOnce(jsm, cfg), deadline);
}

async function ensureStreamOnce(
  jsm: JetStreamManager,
  cfg: Partial<StreamConfig> & { name: string },
): Promise<void> {
  await retryCreateRace(async () => {
    try {
      await jsm.streams.info(cfg.name);
      await jsm.streams.update(cfg.name, cfg);
    } catch (err) {
      if (!isStreamNotFound(err)) throw err;
      await jsm.streams.add(cfg);
    }
  });
}

/** Creates (or updates) every stream and bucket taskjet uses. Safe to call from many processes at once. */
export async function ensureTopology(
  nc: NatsConnection,
  ns: Namespace,
  opts: TopologyOptions = {},
): Promise<Topology> {
  const o = { ...topologyDefaults, ...withoutUndefined(opts) };
  if (!o.create) return openTopology(nc, ns, o);
  assertReplicasSafe(nc, o.replicas, `TASKJET_STREAM_REPLICAS=${o.replicas}`);
  const jsm = await jetstreamManager(nc);
  // a cluster still electing its meta leader drops API requests unanswered: ask again (up to
  // jsApiTimeoutMs) rather than wait that long for an answer that will not come
  const deadline = Date.now() + o.jsApiTimeoutMs;
  const storage = o.memory ? StorageType.Memory : StorageType.File;
  const stream = (cfg: Partial<StreamConfig> & { name: string }) =>
    ensureStream(jsm, deadline, { ...cfg, storage, num_replicas: o.replicas });
  /** the run log and the dead letters: kept up to an age, a count and a size, the oldest dropped first */
  const limited = (name: string, subject: string, maxAgeMs: number, maxMsgs: number, maxBytes: number) =>
    stream({
      name,
      subjects: [subject],
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: nanos(maxAgeMs),
      max_msgs: maxMsgs,
      max_bytes: maxBytes,
    });
  await stream({
    name: ns.streams.run,
    subjects: [ns.runAll],
    retention: RetentionPolicy.Workqueue,
    // it holds accepted jobs (the fast lane) and fires: with a limit set, refuse a new message rather than
    // drop an old one (the default discard policy), so nothing accepted is lost
    discard: DiscardPolicy.New,
    duplicate_window: nanos(o.duplicateWindowMs),
  });
  await limited(ns.streams.log, ns.logAll, o.logMaxAgeMs, o.logMaxMessages, o.logMaxBytes);
  await limited(ns.streams.dlq, ns.dlqAll, o.dlqMaxAgeMs, o.dlqMaxMessages, o.dlqMaxBytes);
  const kvm = new Kvm(jetstream(nc, { timeout: o.jsApiTimeoutMs }));
  // a bucket create is idempotent, except when it races another process's create of the same bucket
  const bucket = (name: string, opts: Partial<KvOptions> = {}) =>
    retryCreateRace(() => kvm.create(name, { history: 1, replicas: o.replicas, storage, ...opts }));
  const [jobs, lease, locks, registry, sched] = await Promise.all([
    bucket(ns.buckets.jobs),
    bucket(ns.buckets.lease, { ttl: o.leaseTtlMs }),
    bucket(ns.buckets.locks, { ttl: 86_400_000 }),
    bucket(ns.buckets.registry, { ttl: o.registryTtlMs }),
    bucket(ns.buckets.sched),
  ]);
  return { jsm, jobs, lease, locks, registry, sched, options: o };
}

/** Opens what a scheduler created, creating and changing nothing; see the file header. */
async function openTopology(
  nc: NatsConnection,
  ns: Namespace,
  o: Required<TopologyOptions>,
): Promise<Topology> {
  const jsm = await jetstreamManager(nc);
  const info = async (stream: string) => {
    try {
      return await jsm.streams.info(stream);
    } catch (err) {
      if (!isStreamNotFound(err)) throw err;
      throw new UnavailableError(
        `stream ${stream} does not exist: start a scheduler first (it creates taskjet's streams and buckets)`,
        { cause: err, field: "topology.create", details: { stream } },
      );
    }
  };
  for (const s of [ns.streams.run, ns.streams.log, ns.streams.dlq]) await info(s);
  const jobsInfo = await info(`KV_${ns.buckets.jobs}`);
  assertReplicasSafe(nc, jobsInfo.config.num_replicas, `the job bucket ${ns.buckets.jobs}`);
  const kvm = new Kvm(jetstream(nc, { timeout: o.jsApiTimeoutMs }));
  // bind, not create: binding costs no API call; direct gets only when the bucket allows them
  const open = async (bucket: string) =>
    kvm.open(bucket, { allow_direct: (await info(`KV_${bucket}`)).config.allow_direct === true });
  const [jobs, locks, registry] = await Promise.all([
    kvm.open(ns.buckets.jobs, { allow_direct: jobsInfo.config.allow_direct === true }),
    open(ns.buckets.locks),
    open(ns.buckets.registry),
  ]);
  // only the scheduler uses these, and it always creates them (with direct gets, NATS 2.9+)
  const lease = await kvm.open(ns.buckets.lease, { allow_direct: true });
  const sched = await kvm.open(ns.buckets.sched, { allow_direct: true });
  return { jsm, jobs, lease, locks, registry, sched, options: o };
}
