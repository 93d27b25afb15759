/**
 * Builds the role objects of one running scheduler and wires them together (the service front,
 * schedulerService.ts, owns their lifecycle): connections, topology, the job index with its initial load,
 * the ticker and its collaborators, the cursor, leadership, registry helpers and the API. Each is built after
 * what it uses, so nothing is wired late: the fencing the ticker opens and the bookkeeper checks comes first,
 * and the cursor keeper and the reaper get the ticker as a read-only FiringState.
 */
import { jetstream } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "pino";
import {
  ArgsChecker,
  connectNats,
  ensureTopology,
  serverHas,
  JobStore,
  leanJobStore,
  natsConfigFromEnv,
  PublishBatch,
  Registry,
  RequestMux,
} from "@taskjet/nats";
import { namespace, type BacklogEntry, type FencedError, type ReplicaInfo } from "@taskjet/protocol";
import { ApiServer, type SysHandlers } from "./accept/apiServer.js";
import { runBacklog } from "./fire/backlog.js";
import { Bookkeeper } from "./fire/bookkeeper.js";
import { ClockSkewMonitor } from "./lead/clockSkewMonitor.js";
import { CursorKeeper } from "./lead/cursorKeeper.js";
import { Dispatcher } from "./fire/dispatcher.js";
import { CursorStore } from "./fire/fireCursor.js";
import { Fencing } from "./fire/fence.js";
import { JobCommands } from "./accept/jobCommands.js";
import { JobIndex } from "./view/jobIndex.js";
import { Leadership } from "./lead/leadership.js";
import { LifecycleCommands } from "./accept/lifecycleCommands.js";
import type { ResolvedSchedulerOptions, SchedulerOptions } from "./options.js";
import { Reaper } from "./lead/reaper.js";
import { QueuedJobs } from "./accept/queuedJobs.js";
import { Every } from "./lead/every.js";
import { ReplicaWatch } from "./lead/replicaWatch.js";
import { RetentionSweeper } from "./lead/retentionSweeper.js";
import { ReplicaHeartbeat } from "./lead/replicaHeartbeat.js";
import type { SchedulerMetrics, ServiceEvents } from "./serviceEvents.js";
import { SkipRecorder } from "./fire/skipRecorder.js";
import { Ticker } from "./fire/ticker.js";

/** NATS' default max_payload, for the moment before the server's INFO has arrived. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** Everything a started service holds. */
export interface Running {
  nc: NatsConnection;
  controlNc: NatsConnection;
  ownsConnection: boolean;
  ownsControl: boolean;
  index: JobIndex;
  ticker: Ticker;
  cursorKeeper: CursorKeeper;
  cursorStore: CursorStore;
  stopCursorWatch: () => void;
  leadership: Leadership;
  api: ApiServer;
  heartbeat: ReplicaHeartbeat;
  skew: ClockSkewMonitor;
  reaper: Reaper;
  retention: RetentionSweeper;
  /** where streams are replicated: their copies' health, checked every replicaCheckMs by replicaEvery */
  replicaWatch: ReplicaWatch | undefined;
  replicaEvery: Every | undefined;
  registry: Registry;
  dispatcher: Dispatcher;
  /** the store's lean request path (closed after the dispatcher) */
  storeMux: RequestMux;
  /** the run stream's backlog per node and type (status) */
  backlog: () => Promise<BacklogEntry[]>;
}

export interface AssemblyContext {
  input: SchedulerOptions;
  options: ResolvedSchedulerOptions;
  log: Logger;
  events: ServiceEvents;
  metrics: SchedulerMetrics;
  sys: SysHandlers;
  replicaInfo: () => ReplicaInfo;
  onLeadership: (leader: boolean, epoch: number) => void;
  onFenced: (err: FencedError) => void;
  /** the leader's firing loop threw: it must not keep a lease it no longer fires under */
  onFiringFailed: (err: unknown) => void;
}

/** Connects, creates the topology, loads the store; nothing is served or campaigned yet. */
export async function assemble(c: AssemblyContext): Promise<Running> {
  const o = c.options;
  const ownsConnection = !c.input.nats;
  const config = () =>
    natsConfigFromEnv({}, { ...c.input.natsConfig, name: `taskjet-scheduler-${o.replicaId}` });
  const nc = c.input.nats ?? (await connectNats(config()));
  const ownsControl = !c.input.controlNats && ownsConnection;
  let controlNc: NatsConnection = nc;
  try {
    if (c.input.controlNats) controlNc = c.input.controlNats;
    else if (ownsControl)
      controlNc = await connectNats({ ...config(), name: `taskjet-scheduler-${o.replicaId}-control` });
    const ns = namespace(o.prefix);
    const topo = await ensureTopology(nc, ns, o.topology);
    const kvm = new Kvm(controlNc);
    const [leaseKv, schedKv] =
      controlNc === nc
        ? [topo.lease, topo.sched]
        : await Promise.all([kvm.open(ns.buckets.lease), kvm.open(ns.buckets.sched)]);
    const js = jetstream(nc);
    // queued jobs and the leader's bookkeeping go through the lean request path (see leanKv.ts)
    const storeMux = new RequestMux(nc, new PublishBatch(nc), o.apiTimeoutMs);
    const bucket = await leanJobStore(topo, ns, storeMux, (err) =>
      c.log.debug({ err: String(err) }, "job bucket info unavailable; using the plain KV client"),
    );
    const store = new JobStore(bucket.kv, ns, bucket.latest);
    const index = new JobIndex(topo.jobs, nc);
    index.onBadRecord = (key, err) =>
      c.log.warn({ key, err: String(err) }, "skipping a stored value that is not a job");
    index.onWatchError = (err) =>
      c.log.error({ err: String(err) }, "the job store watch ended: this replica's view is stale");
    const now = () => o.clock.now();
    const dispatcher = new Dispatcher(nc, ns, { ...o, now });
    const source = `/taskjet/scheduler/${o.replicaId}`;
    const skips = new SkipRecorder(nc, js, ns, { source, publishTimeoutMs: o.publishTimeoutMs, now });
    const leadership = new Leadership(
      leaseKv,
      {
        ttlMs: o.leaseTtlMs,
        replicaId: o.replicaId,
        onAcquireError: (err) => c.log.debug({ err: String(err) }, "could not campaign for the lease"),
      },
      (leader, epoch) => c.onLeadership(leader, epoch),
    );
    // the ticker opens a fence when it starts firing; the bookkeeper's writes check the current one
    const fencing = new Fencing(() => leadership.isLeader());
    const books = new Bookkeeper(store, fencing.mayFire, now);
    const ticker = new Ticker({
      index,
      dispatcher,
      skips,
      books,
      clock: o.clock,
      opts: o,
      log: c.log,
      events: c.events,
      metrics: c.metrics,
      fencing,
      onLoopFailed: (err) => c.onFiringFailed(err),
    });
    index.setListener(ticker);
    const t0 = Date.now();
    await index.start();
    c.log.info({ jobs: index.size, active: index.active, loadMs: Date.now() - t0 }, "job store loaded");

    const cursorStore = new CursorStore(schedKv);
    const cursorKeeper = new CursorKeeper({
      firing: ticker,
      index,
      store: cursorStore,
      clock: o.clock,
      replicaId: o.replicaId,
      intervalMs: o.cursorIntervalMs,
      log: c.log,
      events: c.events,
      metrics: c.metrics,
      onFenced: (err) => c.onFenced(err),
    });
    const stopCursorWatch = await cursorStore.watch((v) => {
      if (ticker.isFiring) return;
      c.events.emit("cursor:seen", v);
      ticker.followCursor(v);
    });
    const registry = new Registry(topo.registry);
    const heartbeat = new ReplicaHeartbeat(
      registry,
      topo.registry,
      () => c.replicaInfo(),
      o.clock,
      o.replicaHeartbeatMs,
      c.log,
    );
    const skew = new ClockSkewMonitor(
      topo.registry,
      heartbeat,
      { maxClockSkewMs: o.maxClockSkewMs, intervalMs: o.clockSkewCheckIntervalMs },
      c.log,
      c.metrics,
      c.events,
    );
    const reaper = new Reaper({
      firing: ticker,
      index,
      registry,
      books,
      intervalMs: o.reaperIntervalMs,
      registryTtlMs: topo.options.registryTtlMs,
      log: c.log,
      metrics: c.metrics,
    });
    const retention = new RetentionSweeper({
      index,
      store,
      config: o.retention,
      mayRemove: () => ticker.isFiring,
      // on a server before 2.9.15 a purge of one key moves every watcher of the bucket past other keys'
      // writes, so the markers stay there (serverVersion.ts)
      purgeMarker: !serverHas(nc, "safeFilteredPurge")
        ? undefined
        : async (key, revision) => {
            await topo.jsm.streams.purge(`KV_${ns.buckets.jobs}`, {
              filter: `$KV.${ns.buckets.jobs}.${key}`,
              seq: revision + 1,
            });
          },
      intervalMs: o.retentionSweepMs,
      markerPurgeDelayMs: o.markerPurgeDelayMs,
      log: c.log,
    });
    const replicaWatch =
      topo.options.replicas > 1
        ? new ReplicaWatch({
            jsm: topo.jsm,
            streams: [ns.streams.run, `KV_${ns.buckets.jobs}`, `KV_${ns.buckets.lease}`],
            stuckAfterMs: o.replicaStuckMs,
            log: c.log,
          })
        : undefined;
    const argsChecker = new ArgsChecker({
      registry,
      clock: o.clock,
      cacheMs: o.argsSchemaCacheMs,
      onUnknownType: (type) => c.events.emit("job:unknownType", { type }),
      log: c.log,
    });
    const jobs = new JobCommands({
      queued: new QueuedJobs(topo.jsm, ns),
      argsChecker,
      store,
      index,
      js,
      ns,
      clock: o.clock,
      apiTimeoutMs: o.apiTimeoutMs,
      limits: { maxJobBytes: o.maxJobBytes, minIntervalSeconds: o.minIntervalSeconds },
      maxPayload: () => nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD,
      actionSubjectAllow: o.actionSubjectAllow,
      retention: o.retention,
    });
    const life = new LifecycleCommands({
      store,
      index,
      jobs,
      dispatcher,
      clock: o.clock,
      apiTimeoutMs: o.apiTimeoutMs,
      leaderEpoch: async () => (ticker.isFiring ? ticker.epoch : ((await leadership.holder())?.epoch ?? 0)),
    });
    const api = new ApiServer(nc, ns, jobs, life, c.sys, { replicaId: o.replicaId, log: c.log });
    return {
      nc,
      controlNc,
      ownsConnection,
      ownsControl,
      index,
      ticker,
      cursorKeeper,
      cursorStore,
      stopCursorWatch,
      leadership,
      api,
      heartbeat,
      skew,
      reaper,
      retention,
      replicaWatch,
      replicaEvery: replicaWatch
        ? new Every(o.replicaCheckMs, () => replicaWatch.check().catch(() => undefined))
        : undefined,
      registry,
      dispatcher,
      storeMux,
      backlog: () => runBacklog(topo.jsm, ns),
    };
  } catch (err) {
    if (ownsConnection) await nc.close().catch(() => undefined);
    if (ownsControl && controlNc !== nc) await controlNc.close().catch(() => undefined);
    throw err;
  }
}
