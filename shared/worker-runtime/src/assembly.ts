/**
 * The NATS side of a worker, built by start() and torn down by stop() (the front, worker.ts, owns the
 * lifecycle and the runs): the connection, topology and consumers, the job store, run log and Runner, the
 * puller, the interrupt subscriptions, the in-progress ack timer, heartbeats and the connection watch. Each
 * part is kept as soon as it is made, so a start that fails half-way tears down what it had built.
 */
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Logger } from "pino";
import { ALL_NODES, CONTENT_TYPE_HEADER, namespace, type Namespace } from "@taskjet/protocol";
import {
  connectNats,
  ensureTopology,
  leanJobStore,
  LockProvider,
  natsConfigFromEnv,
  PublishBatch,
  Registry,
  RequestMux,
  type Topology,
} from "@taskjet/nats";
import type { ActionRunner } from "./outcome/actions.js";
import { ensureConsumers } from "./intake/consumers.js";
import type { JobHook, Registration } from "./handler.js";
import { Heartbeat } from "./telemetry/heartbeat.js";
import type { Intake } from "./intake/intake.js";
import { CachedJobStore } from "./outcome/jobCache.js";
import { Reach } from "./intake/reach.js";
import type { ResolvedWorkerOptions } from "./options.js";
import { Puller } from "./intake/puller.js";
import { askHeld, serveHeld } from "./run/heldFires.js";
import { Runner } from "./run/runner.js";
import type { RunSlots } from "./intake/runSlots.js";
import { StateCoalescer } from "./outcome/stateCoalescer.js";
import { Telemetry } from "./telemetry/telemetry.js";
import type { WorkerEventEmitter } from "./workerEvents.js";

/** What the parts need of the worker front. */
export interface AssemblyDeps {
  o: ResolvedWorkerOptions;
  log: Logger;
  events: WorkerEventEmitter;
  actions: ActionRunner;
  handlers: ReadonlyMap<string, Registration>;
  beforeHooks: JobHook[];
  afterHooks: JobHook[];
  slots: RunSlots;
  intake: Intake;
  /** true once stop()'s grace is over: retries of store writes give up and hand the fire back */
  givingUp: () => boolean;
  /** true once the worker has stopped: the connection watch ends */
  stopped: () => boolean;
  /** every workingIntervalMs: in-progress acks and hand-backs */
  tick: () => void;
}

/**
 * A write that got through this long ago still shows the way to the cluster open (reach.ts). 500 ms let a
 * worker cut off 80-180 ms before an instant run that instant's fires (the partition suite, 2026-12-07): any
 * write that got through ended before the cut, so the window is what a cut can hide in. Under load writes
 * land every few ms and no probe is needed; at low load a probe (one registry write) per instant delays held
 * fires by its round trip.
 */
const REACH_FRESH_MS = 50;

export class WorkerAssembly {
  /** set as build() makes them; the front reads them to stop in order and for its getters */
  nc: NatsConnection | undefined;
  runner: Runner | undefined;
  puller: Puller | undefined;
  heartbeat: Heartbeat | undefined;
  coalescer: StateCoalescer | undefined;
  store: CachedJobStore | undefined;
  /** whether this worker's writes get through to the cluster (reach.ts) */
  reach: Reach | undefined;
  private ownsConnection = false;
  private ns: Namespace | undefined;
  private topology: Topology | undefined;
  private subs: Subscription[] = [];
  private workingTimer: NodeJS.Timeout | undefined;
  private stopStatus: (() => void) | undefined;
  private mux: RequestMux | undefined;
  private out: PublishBatch | undefined;
  /** the job types whose consumers exist and are pulled */
  private pulled = new Set<string>();

  constructor(private readonly d: AssemblyDeps) {}

  /** the subject prefix, once build() resolved it */
  get prefix(): string | undefined {
    return this.ns?.prefix;
  }

  /** Connects and builds every part; pulling starts last. Resolves with the namespace. */
  async build(): Promise<Namespace> {
    const o = this.d.o;
    if (o.nc) {
      this.nc = o.nc;
    } else {
      const config = natsConfigFromEnv(process.env, {
        name: `taskjet-worker-${o.workerId}`,
        ...(o.nats ?? {}),
      });
      this.nc = await connectNats(config);
      this.ownsConnection = true;
      withoutAsyncTraces(this.nc);
      this.ns = namespace(o.prefix ?? config.prefix);
    }
    this.ns ??= namespace(o.prefix);
    const nc = this.nc;
    const ns = this.ns;
    this.topology = await ensureTopology(nc, ns, o.topology);
    const types = [...this.d.handlers.keys()];
    const targets = await ensureConsumers(this.topology.jsm, ns, o.node, types, o);
    this.pulled = new Set(types);
    const out = new PublishBatch(nc);
    this.out = out;
    this.mux = new RequestMux(nc, out, o.requestTimeoutMs);
    // the probe is a heartbeat out of turn; held fires wait for it at most a request timeout
    const reach = new Reach(
      () => this.heartbeat?.writeWorker() ?? Promise.reject(new Error("no heartbeat yet")),
      REACH_FRESH_MS,
      o.requestTimeoutMs,
    );
    this.reach = reach;
    // every stored run-log entry shows the way out open: under load (period outcomes are coalesced for
    // seconds) it is what spares held fires a probe at each instant
    const telemetry = new Telemetry(nc, jetstream(nc), this.mux, ns, o.workerId, o.events, o.runLog, () =>
      reach.mark(),
    );
    const bucket = await leanJobStore(this.topology, ns, this.mux, (err) =>
      this.d.log.debug({ err }, "job bucket info unavailable; using the plain KV client"),
    );
    const store = new CachedJobStore(bucket.kv, ns, o.jobCacheSize, bucket.latest, () => reach.mark());
    this.store = store;
    this.coalescer = new StateCoalescer(store, o.coalesceStateMs, this.d.log);
    this.runner = new Runner({
      o,
      ns,
      store,
      coalescer: this.coalescer,
      locks: new LockProvider(this.topology.locks),
      telemetry,
      actions: this.d.actions,
      events: this.d.events,
      handlers: this.d.handlers,
      beforeHooks: this.d.beforeHooks,
      afterHooks: this.d.afterHooks,
      logger: this.d.log,
      givingUp: this.d.givingUp,
      askHeld: (q) => askHeld(nc, ns.held, q),
    });
    this.puller = new Puller(nc, out, {
      stream: ns.streams.run,
      targets,
      idlePollMs: o.idlePollMs,
      capacity: () => this.d.slots.room(),
      wantsMore: () => this.d.slots.wantsMore(),
      deliver: (msg) => this.d.intake.accept(msg),
      logger: this.d.log,
    });
    const onInterrupt = (_e: unknown, m: { data: Uint8Array; headers?: { get(k: string): string } }) =>
      this.d.intake.interrupt(m.data, m.headers?.get(CONTENT_TYPE_HEADER));
    this.subs.push(
      nc.subscribe(ns.ctl(o.node), { callback: onInterrupt }),
      nc.subscribe(ns.ctl(ALL_NODES), { callback: onInterrupt }),
      serveHeld(nc, ns.held, o.workerId, (q) => this.runner?.holds(q), this.d.log),
    );
    this.watchConnection(nc, ns);
    this.workingTimer = setInterval(() => this.d.tick(), o.workingIntervalMs);
    this.heartbeat = new Heartbeat(
      new Registry(this.topology.registry),
      o,
      () => [...this.d.handlers.values()],
      () => this.d.slots.active.size,
      this.d.log,
      () => reach.mark(),
    );
    await this.heartbeat.start();
    await nc.flush();
    this.puller.start();
    // a handler registered while this start was under way (after its consumers were made)
    for (const type of this.d.handlers.keys()) this.typeAdded(type);
    return ns;
  }

  private watchConnection(nc: NatsConnection, ns: Namespace): void {
    const iter = nc.status();
    this.stopStatus = () => (iter as { stop?: () => void }).stop?.();
    void (async () => {
      for await (const s of iter) {
        if (this.d.stopped()) break;
        if (s.type === "disconnect") {
          this.d.log.warn("NATS disconnected; runs continue, pulls pause");
          this.puller?.onDisconnect();
          this.mux?.failPending("disconnected from NATS");
          this.store?.clear(); // interrupts sent meanwhile are lost: read every job again
        } else if (s.type === "reconnect") {
          this.d.log.info("NATS reconnected; resuming pulls");
          this.store?.clear();
          // memory-storage consumers do not survive a server restart: make sure they exist
          await ensureConsumers(this.topology!.jsm, ns, this.d.o.node, [...this.pulled], this.d.o).catch(
            (err: unknown) => this.d.log.warn({ err }, "could not re-ensure consumers after reconnect"),
          );
          this.puller?.onReconnect();
          this.d.events.emit("worker:reconnect", { workerId: this.d.o.workerId });
        }
      }
    })().catch(() => undefined);
  }

  /**
   * A handler registered after start: create its type's consumers and pull from them too. A failure is
   * logged and retried at the next reconnect; until then the type's fires wait in the stream.
   */
  typeAdded(type: string): void {
    const { topology, ns, puller } = this;
    if (!topology || !ns || !puller || this.pulled.has(type)) return;
    this.pulled.add(type);
    ensureConsumers(topology.jsm, ns, this.d.o.node, [type], this.d.o).then(
      (targets) => puller.add(targets),
      (err: unknown) => this.d.log.error({ err, type }, "could not create the consumers of a new job type"),
    );
  }

  /** Stops and closes whatever was built (also after a start that failed half-way). */
  async teardown(): Promise<void> {
    if (this.workingTimer) clearInterval(this.workingTimer);
    this.workingTimer = undefined;
    await this.heartbeat?.stop();
    this.puller?.close();
    this.stopStatus?.();
    this.out?.flush();
    this.mux?.close();
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    const nc = this.nc;
    if (!nc || nc.isClosed()) return;
    try {
      if (this.ownsConnection) await nc.drain();
      else await nc.flush();
    } catch (err) {
      this.d.log.debug({ err }, "closing the connection");
    }
  }
}

/**
 * nats.js captures a stack trace (`new Error()`) for every request so a timeout can say where it came from;
 * at thousands of store reads and writes a second that is the single largest CPU cost of a run. connectNats
 * does not expose the `noAsyncTraces` option, so set it on the connection we own (read per request).
 */
function withoutAsyncTraces(nc: NatsConnection): void {
  const opts = (nc as unknown as { options?: { noAsyncTraces?: boolean } }).options;
  if (opts) opts.noAsyncTraces = true;
}
