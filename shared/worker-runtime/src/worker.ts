/**
 * The worker front: registers handlers, owns the connection, consumers, puller, interrupts and heartbeats,
 * and hands each delivered fire to the Runner. start() and stop() are idempotent; a concurrent caller gets
 * the same in-flight promise.
 */
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Logger } from "pino";
import type { z } from "zod";
import {
  ALL_NODES,
  CONTENT_TYPE_HEADER,
  decode,
  encodingOf,
  FailedPreconditionError,
  namespace,
  token,
  ValidationError,
  type FireMessage,
  type Namespace,
} from "@taskjet/protocol";
import {
  connectNats,
  ensureTopology,
  JobStore,
  leanJobsKv,
  LockProvider,
  natsConfigFromEnv,
  PublishBatch,
  Registry,
  RequestMux,
  type Topology,
} from "@taskjet/nats";
import { ActionRunner, type ActionFn } from "./actions.js";
import { ActiveRun } from "./activeRun.js";
import { ensureConsumers } from "./consumers.js";
import type { JobHandler, JobHook, Registration, RegisterOptions } from "./handler.js";
import { Heartbeat } from "./heartbeat.js";
import { resolveOptions, type ResolvedWorkerOptions, type WorkerOptions } from "./options.js";
import { Puller } from "./puller.js";
import { RunSlots } from "./runSlots.js";
import { decodeFire } from "./decodeFire.js";
import { EarlyFires } from "./earlyFires.js";
import { Runner } from "./runner.js";
import { StateCoalescer } from "./stateCoalescer.js";
import type { RunMessage } from "./runMessage.js";
import { Telemetry } from "./telemetry.js";
import { WorkerEventEmitter } from "./workerEvents.js";

/** An interrupt on `<p>.ctl.<node>` or `<p>.ctl._all` (msgpack, or JSON by Content-Type). */
export interface Interrupt {
  jobId: string;
  tenantId: string;
  fireId?: string;
  reason: string;
}

type State = "new" | "starting" | "running" | "stopping" | "stopped";

export class Worker {
  /** typed lifecycle events: `worker.events.on("run:success", ...)`, `await worker.events.next("run:start")` */
  readonly events = new WorkerEventEmitter();
  readonly options: ResolvedWorkerOptions;
  private readonly handlers = new Map<string, Registration>();
  private readonly beforeHooks: JobHook[] = [];
  private readonly afterHooks: JobHook[] = [];
  /** fires that came before their nominal time: being prepared, or prepared and held (earlyFires.ts) */
  private readonly preparing = new Set<ActiveRun>();
  private readonly early = new EarlyFires((runs) => this.releaseEarly(runs));
  private readonly actions: ActionRunner;
  private readonly slots: RunSlots;
  private readonly log: Logger;
  private state: State = "new";
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private hardStop = false;
  private nc: NatsConnection | undefined;
  private ownsConnection = false;
  private ns: Namespace | undefined;
  private topology: Topology | undefined;
  private puller: Puller | undefined;
  private heartbeat: Heartbeat | undefined;
  private runner: Runner | undefined;
  private subs: Subscription[] = [];
  private workingTimer: NodeJS.Timeout | undefined;
  private stopStatus: (() => void) | undefined;
  private mux: RequestMux | undefined;
  private out: PublishBatch | undefined;
  private coalescer: StateCoalescer | undefined;

  constructor(options: WorkerOptions = {}) {
    this.options = resolveOptions(options);
    this.log = this.options.logger.child({ workerId: this.options.workerId, node: this.options.node });
    this.actions = new ActionRunner(() => this.nc, this.options.actionTimeoutMs, this.log, this.events);
    this.slots = new RunSlots({
      o: this.options,
      run: (a) => this.runner!.run(a),
      settled: () => this.puller?.notify(),
      stopping: () => this.state === "stopping",
    });
  }

  get workerId(): string {
    return this.options.workerId;
  }

  get node(): string {
    return this.options.node;
  }

  /** Runs in flight right now. */
  get running(): number {
    return this.slots.active.size;
  }

  /** Early fires prepared and held for their nominal time. */
  get heldEarly(): number {
    return this.early.size;
  }

  /** Successful runs whose coalesced state write is still to be made. */
  get pendingStateRuns(): number {
    return this.coalescer?.size ?? 0;
  }

  /** Runs settled since start (acked, nak'd or terminated). */
  get settledCount(): number {
    return this.slots.settledCount;
  }

  get types(): string[] {
    return [...this.handlers.keys()];
  }

  /** The connection, once started (e.g. to publish from a test or a handler). */
  get connection(): NatsConnection {
    if (!this.nc) throw new FailedPreconditionError("the worker is not started: call start() first");
    return this.nc;
  }

  /**
   * Registers the handler of a job type. With `argsSchema` (zod) the args are parsed before the handler runs,
   * and a mismatch fails the run for good, naming the field. May be called before or after start().
   */
  register<S extends z.ZodType = z.ZodType<Record<string, unknown>>>(
    type: string,
    handler: JobHandler<z.output<S>>,
    opts: RegisterOptions<S> = {},
  ): this {
    const parsed = token("type").safeParse(type);
    if (!parsed.success) {
      throw new ValidationError(`type: ${parsed.error.issues[0]?.message ?? "invalid"}`, { field: "type" });
    }
    if (typeof handler !== "function") {
      throw new ValidationError(`handler of "${type}" must be a function (ctx) => Promise<unknown>`, {
        field: "handler",
      });
    }
    this.handlers.set(type, {
      type,
      handler: handler as JobHandler<unknown>,
      argsSchema: opts.argsSchema,
      description: opts.description,
    });
    this.heartbeat?.typesChanged();
    return this;
  }

  /** Adds a job action kind next to the built-in `webhook` and `publish`. */
  registerAction(kind: string, fn: ActionFn): this {
    this.actions.register(kind, fn);
    return this;
  }

  /** In-process hook before every run (the seed's IJobEvent.OnJobBeforeExecuted); awaited, errors ignored. */
  onBefore(hook: JobHook): this {
    this.beforeHooks.push(hook);
    return this;
  }

  /** In-process hook after every run's outcome is stored; awaited, errors ignored. */
  onAfter(hook: JobHook): this {
    this.afterHooks.push(hook);
    return this;
  }

  start(): Promise<void> {
    if (this.state === "stopping" || this.state === "stopped") {
      return Promise.reject(
        new FailedPreconditionError("this worker was stopped: create a new one to start again"),
      );
    }
    this.starting ??= this.doStart().catch(async (err: unknown) => {
      this.log.error({ err }, "worker failed to start");
      await this.teardown();
      this.state = "stopped";
      throw err;
    });
    return this.starting;
  }

  private async doStart(): Promise<void> {
    this.state = "starting";
    const o = this.options;
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
    const targets = await ensureConsumers(this.topology.jsm, ns, o.node, o);
    const out = new PublishBatch(nc);
    this.out = out;
    this.mux = new RequestMux(nc, out, o.requestTimeoutMs);
    const telemetry = new Telemetry(nc, jetstream(nc), this.mux, ns, o.workerId, o.events, o.runLog);
    const store = new JobStore(
      await leanJobsKv(this.topology, ns, this.mux, (err) =>
        this.log.debug({ err }, "job bucket info unavailable; using the plain KV client"),
      ),
      ns,
    );
    const backoff = { baseMs: o.backoffBaseMs, maxMs: o.backoffMaxMs };
    this.coalescer = new StateCoalescer(store, o.coalesceStateMs, backoff, this.log);
    this.runner = new Runner({
      o,
      ns,
      store,
      coalescer: this.coalescer,
      locks: new LockProvider(this.topology.locks),
      telemetry,
      actions: this.actions,
      events: this.events,
      handlers: this.handlers,
      beforeHooks: this.beforeHooks,
      afterHooks: this.afterHooks,
      logger: this.log,
      givingUp: () => this.hardStop,
    });
    this.puller = new Puller(nc, out, {
      stream: ns.streams.run,
      targets,
      idlePollMs: o.idlePollMs,
      capacity: () => this.slots.room(),
      wantsMore: () => this.slots.wantsMore(),
      deliver: (msg) => this.accept(msg),
      logger: this.log,
    });
    const onInterrupt = (_e: unknown, m: { data: Uint8Array; headers?: { get(k: string): string } }) =>
      this.interrupt(m.data, m.headers?.get(CONTENT_TYPE_HEADER));
    this.subs.push(
      nc.subscribe(ns.ctl(o.node), { callback: onInterrupt }),
      nc.subscribe(ns.ctl(ALL_NODES), { callback: onInterrupt }),
    );
    this.watchConnection(nc, ns);
    this.workingTimer = setInterval(() => this.tick(), o.workingIntervalMs);
    this.heartbeat = new Heartbeat(
      new Registry(this.topology.registry),
      o,
      () => this.registrations(),
      () => this.slots.active.size,
      this.log,
    );
    this.heartbeat.start();
    await nc.flush();
    this.puller.start();
    this.state = "running";
    this.log.info({ concurrency: o.concurrency, types: this.types, prefix: ns.prefix }, "worker started");
    this.events.emit("worker:start", { workerId: o.workerId, node: o.node });
  }

  private registrations(): Registration[] {
    return [...this.handlers.values()];
  }

  /**
   * A pulled message: an early fire is prepared and held until its nominal time; any other runs if a slot
   * is free, else waits in the prefetch buffer (by priority).
   */
  private accept(msg: RunMessage): void {
    const a = new ActiveRun(msg);
    const nominalMs = this.options.holdEarlyFires ? nominalOf(a) : undefined;
    if (nominalMs !== undefined && nominalMs > Date.now() && this.state !== "stopping")
      return this.holdEarly(a, nominalMs);
    this.slots.enqueue(a);
  }

  private holdEarly(a: ActiveRun, nominalMs: number): void {
    const until = Math.min(nominalMs, Date.now() + this.options.maxEarlyMs);
    this.preparing.add(a);
    void this.runner!.prepare(a).then((ok) => {
      this.preparing.delete(a);
      if (!ok) return this.puller?.notify();
      if (this.state === "stopping" || this.state === "stopped") return a.msg.nak();
      // interrupted (paused, stopped, removed) while its job was being read
      if (a.abortReason !== undefined) return void this.runner!.skipPrepared(a, a.abortReason);
      this.early.hold(a, until);
      if (this.events.has("run:held") && a.prepared) {
        const { ref } = a.prepared;
        this.events.emit("run:held", { ...ref, until: new Date(until).toISOString() });
      }
    });
  }

  /** Early fires whose instant came: highest priority first into free slots, the rest into the buffer. */
  private releaseEarly(runs: ActiveRun[]): void {
    if (this.state === "stopping" || this.state === "stopped") {
      for (const a of runs) a.msg.nak();
      return;
    }
    this.slots.release(runs);
  }

  /**
   * Every workingIntervalMs: in-progress acks for running fires; prefetched fires that waited a whole
   * interval are handed back (a slow run must not sit on fires another worker could take, and they must
   * never reach their ack wait here).
   */
  private tick(): void {
    for (const a of this.slots.active) a.msg.working();
    const cutoff = Date.now() - this.options.workingIntervalMs;
    // held early fires are ours until their instant (maxEarlyMs may exceed the ack wait)
    for (const a of this.early.all()) if (a.msg.receivedAt <= cutoff) a.msg.working();
    this.slots.handBackWaiting(cutoff);
  }

  private handBackBuffered(): void {
    this.slots.handBackAll();
    for (const a of this.early.clear()) a.msg.nak();
  }

  private interrupt(data: Uint8Array, contentType: string | undefined): void {
    let it: Interrupt;
    try {
      it = decode(data, encodingOf(contentType)) as Interrupt;
      if (!it || typeof it.jobId !== "string" || typeof it.tenantId !== "string")
        throw new Error("jobId and tenantId are required");
    } catch (err) {
      this.log.warn({ err }, "ignoring a malformed interrupt");
      return;
    }
    // the scheduler sends "*" (any run of the job) when it did not track the runs
    const matches = (f: FireMessage | undefined): f is FireMessage =>
      f !== undefined &&
      f.jobId === it.jobId &&
      f.tenantId === it.tenantId &&
      (it.fireId === undefined || it.fireId === "*" || f.fireId === it.fireId);
    for (const a of this.slots.active) {
      if (!matches(a.fire)) continue;
      this.log.info({ fireId: a.fire.fireId, reason: it.reason }, "interrupting run");
      a.abort(String(it.reason ?? "interrupted"));
    }
    // a fire waiting for its instant does not run when its job was paused, stopped or removed meanwhile
    // (an overlap replace is about the running one, not this one)
    if (it.reason === "replaced") return;
    const reason = String(it.reason ?? "interrupted");
    for (const a of this.preparing) if (matches(a.fire)) a.abort(reason);
    for (const a of this.early.take((h) => matches(h.fire))) void this.runner!.skipPrepared(a, reason);
    // released early fires waiting for a slot were read before the interrupt: skip them too
    this.slots.dropPrepared(
      (a) => matches(a.fire),
      (a) => void this.runner!.skipPrepared(a, reason),
    );
  }

  private watchConnection(nc: NatsConnection, ns: Namespace): void {
    const iter = nc.status();
    this.stopStatus = () => (iter as { stop?: () => void }).stop?.();
    void (async () => {
      for await (const s of iter) {
        if (this.state === "stopped") break;
        if (s.type === "disconnect") {
          this.log.warn("NATS disconnected; runs continue, pulls pause");
          this.puller?.onDisconnect();
          this.mux?.failPending("disconnected from NATS");
        } else if (s.type === "reconnect") {
          this.log.info("NATS reconnected; resuming pulls");
          // memory-storage consumers do not survive a server restart: make sure they exist
          await ensureConsumers(this.topology!.jsm, ns, this.options.node, this.options).catch(
            (err: unknown) => this.log.warn({ err }, "could not re-ensure consumers after reconnect"),
          );
          this.puller?.onReconnect();
          this.events.emit("worker:reconnect", { workerId: this.options.workerId });
        }
      }
    })().catch(() => undefined);
  }

  /**
   * Graceful stop: no new fires; runs in flight may finish within shutdownGraceMs, then their signals fire
   * (reason "shutdown") and their fires are handed back (nak) for another worker. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const wasStarting = this.starting;
    this.state = "stopping";
    if (wasStarting) await wasStarting.catch(() => undefined);
    const o = this.options;
    const active = this.slots.active;
    await this.puller?.stop();
    // runs finish and our pending pull requests expire meanwhile (see Puller.pollsEnded)
    const pollsEnded = this.puller?.pollsEnded(o.idlePollMs + 1000);
    if (active.size > 0) {
      this.log.info({ running: active.size, graceMs: o.shutdownGraceMs }, "stopping: letting runs finish");
      await this.slots.waitIdle(o.shutdownGraceMs);
    }
    await pollsEnded;
    this.handBackBuffered();
    if (active.size > 0) {
      this.log.warn({ running: active.size }, "grace over: aborting runs and handing their fires back");
      for (const a of active) a.abort("shutdown");
      // finishing an aborted run (state write, nak) is quick; a dead store must not block stop forever
      await this.slots.waitIdle(5_000);
      this.hardStop = true;
      await this.slots.waitIdle(1_000);
      for (const a of active) a.msg.nak();
    }
    // the last coalesced state writes, while the connection is still open
    await this.coalescer
      ?.close()
      .catch((err: unknown) => this.log.warn({ err }, "final coalesced state write failed"));
    await this.actions.drain(2_000);
    await this.teardown();
    this.state = "stopped";
    this.log.info("worker stopped");
    this.events.emit("worker:stop", { workerId: o.workerId });
  }

  private async teardown(): Promise<void> {
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
      this.log.debug({ err }, "closing the connection");
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

/** `new Worker(options)`: reads the NATS settings from the environment unless `nc` or `nats` is given. */
export function createWorker(options: WorkerOptions = {}): Worker {
  return new Worker(options);
}

/**
 * A fire's nominal time in ms (undefined for a message that is not a valid fire). Decodes the payload now
 * (kept for the run: decoded once) rather than parsing the headers of every message.
 */
function nominalOf(a: ActiveRun): number | undefined {
  const d = (a.decoded = decodeFire(a.msg));
  return d.ok ? Date.parse(d.fire.nominalTime) : undefined;
}
