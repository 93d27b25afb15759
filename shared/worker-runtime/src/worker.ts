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
  FailedPreconditionError,
  namespace,
  token,
  ValidationError,
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
import { ensureConsumers } from "./consumers.js";
import type { JobHandler, JobHook, Registration, RegisterOptions } from "./handler.js";
import { Heartbeat } from "./heartbeat.js";
import { Intake } from "./intake.js";
import { resolveOptions, type ResolvedWorkerOptions, type WorkerOptions } from "./options.js";
import { Puller } from "./puller.js";
import { RunSlots } from "./runSlots.js";
import { Runner } from "./runner.js";
import { StateCoalescer } from "./stateCoalescer.js";
import { Telemetry } from "./telemetry.js";
import { WorkerEventEmitter } from "./workerEvents.js";

type State = "new" | "starting" | "running" | "stopping" | "stopped";

export class Worker {
  /** typed lifecycle events: `worker.events.on("run:success", ...)`, `await worker.events.next("run:start")` */
  readonly events = new WorkerEventEmitter();
  readonly options: ResolvedWorkerOptions;
  private readonly handlers = new Map<string, Registration>();
  private readonly beforeHooks: JobHook[] = [];
  private readonly afterHooks: JobHook[] = [];
  private readonly actions: ActionRunner;
  private readonly slots: RunSlots;
  private readonly intake: Intake;
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
    const settled = () => this.puller?.notify();
    const stopping = () => this.state === "stopping";
    this.slots = new RunSlots({ o: this.options, run: (a) => this.runner!.run(a), settled, stopping });
    this.intake = new Intake({
      o: this.options,
      slots: this.slots,
      runner: () => this.runner!,
      events: this.events,
      log: this.log,
      settled,
      stopping,
      closed: () => this.state === "stopping" || this.state === "stopped",
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
    return this.intake.held;
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
      deliver: (msg) => this.intake.accept(msg),
      logger: this.log,
    });
    const onInterrupt = (_e: unknown, m: { data: Uint8Array; headers?: { get(k: string): string } }) =>
      this.intake.interrupt(m.data, m.headers?.get(CONTENT_TYPE_HEADER));
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
   * Every workingIntervalMs: in-progress acks for running fires; prefetched fires that waited a whole
   * interval are handed back (a slow run must not sit on fires another worker could take, and they must
   * never reach their ack wait here).
   */
  private tick(): void {
    for (const a of this.slots.active) a.msg.working();
    const cutoff = Date.now() - this.options.workingIntervalMs;
    this.intake.keepHeldAlive(cutoff);
    this.slots.handBackWaiting(cutoff);
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
    this.slots.handBackAll();
    this.intake.handBackHeld();
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
