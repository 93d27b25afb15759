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
import { resolveOptions, type ResolvedWorkerOptions, type WorkerOptions } from "./options.js";
import { Puller } from "./puller.js";
import { ActiveRun, Runner } from "./runner.js";
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
  private readonly active = new Set<ActiveRun>();
  /** prefetched messages, one FIFO per priority (index 0 = p1) */
  private readonly buffered: RunMessage[][] = [[], [], [], [], []];
  private bufferedCount = 0;
  /** a pull round starts when this much room is free (or a run slot idles) */
  private readonly refillAt: number;
  private readonly actions: ActionRunner;
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
  private idleWaiters: (() => void)[] = [];
  private completed = 0;
  private stopStatus: (() => void) | undefined;
  private mux: RequestMux | undefined;
  private out: PublishBatch | undefined;

  constructor(options: WorkerOptions = {}) {
    this.options = resolveOptions(options);
    this.log = this.options.logger.child({ workerId: this.options.workerId, node: this.options.node });
    this.refillAt = Math.max(1, Math.floor((this.options.concurrency + this.options.prefetch) / 4));
    this.actions = new ActionRunner(() => this.nc, this.options.actionTimeoutMs, this.log, this.events);
  }

  get workerId(): string {
    return this.options.workerId;
  }

  get node(): string {
    return this.options.node;
  }

  /** Runs in flight right now. */
  get running(): number {
    return this.active.size;
  }

  /** Runs settled since start (acked, nak'd or terminated). */
  get settledCount(): number {
    return this.completed;
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
    this.runner = new Runner({
      o,
      ns,
      store: new JobStore(
        await leanJobsKv(this.topology, ns, this.mux, (err) =>
          this.log.debug({ err }, "job bucket info unavailable; using the plain KV client"),
        ),
        ns,
      ),
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
      capacity: () => this.room(),
      wantsMore: () => this.active.size < o.concurrency || this.room() >= this.refillAt,
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
      () => this.active.size,
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

  /** Room for more messages: free run slots plus free prefetch buffer. */
  private room(): number {
    return this.options.concurrency + this.options.prefetch - this.active.size - this.bufferedCount;
  }

  /** A pulled message: run it if a slot is free, else keep it in the prefetch buffer (by priority). */
  private accept(msg: RunMessage): void {
    if (this.active.size < this.options.concurrency && this.state !== "stopping") {
      this.dispatch(new ActiveRun(msg));
      return;
    }
    this.buffered[msg.priority - 1]!.push(msg);
    this.bufferedCount++;
  }

  /** The highest-priority prefetched message, oldest first. */
  private nextBuffered(): RunMessage | undefined {
    if (this.bufferedCount === 0) return undefined;
    for (let p = this.buffered.length - 1; p >= 0; p--) {
      const msg = this.buffered[p]!.shift();
      if (msg) {
        this.bufferedCount--;
        return msg;
      }
    }
    return undefined;
  }

  private dispatch(a: ActiveRun): void {
    this.active.add(a);
    void this.runner!.run(a).finally(() => {
      this.active.delete(a);
      this.completed++;
      const next = this.state === "stopping" ? undefined : this.nextBuffered();
      if (next) this.dispatch(new ActiveRun(next));
      if (this.active.size === 0) for (const w of this.idleWaiters.splice(0)) w();
      this.puller?.notify();
    });
  }

  /**
   * Every workingIntervalMs: in-progress acks for running fires; prefetched fires that waited a whole
   * interval are handed back (a slow run must not sit on fires another worker could take, and they must
   * never reach their ack wait here).
   */
  private tick(): void {
    for (const a of this.active) a.msg.working();
    if (this.bufferedCount === 0) return;
    const cutoff = Date.now() - this.options.workingIntervalMs;
    for (const queue of this.buffered) {
      while (queue.length > 0 && queue[0]!.receivedAt <= cutoff) {
        queue.shift()!.nak();
        this.bufferedCount--;
      }
    }
  }

  private handBackBuffered(): void {
    for (const queue of this.buffered) for (const msg of queue.splice(0)) msg.nak();
    this.bufferedCount = 0;
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
    for (const a of this.active) {
      const f = a.fire;
      if (!f || f.jobId !== it.jobId || f.tenantId !== it.tenantId) continue;
      // the scheduler sends "*" (any run of the job) when it did not track the runs
      if (it.fireId !== undefined && it.fireId !== "*" && f.fireId !== it.fireId) continue;
      this.log.info({ fireId: f.fireId, reason: it.reason }, "interrupting run");
      a.abort(String(it.reason ?? "interrupted"));
    }
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
    await this.puller?.stop();
    // runs finish and our pending pull requests expire meanwhile (see Puller.pollsEnded)
    const pollsEnded = this.puller?.pollsEnded(o.idlePollMs + 1000);
    if (this.active.size > 0) {
      this.log.info(
        { running: this.active.size, graceMs: o.shutdownGraceMs },
        "stopping: letting runs finish",
      );
      await this.waitIdle(o.shutdownGraceMs);
    }
    await pollsEnded;
    this.handBackBuffered();
    if (this.active.size > 0) {
      this.log.warn({ running: this.active.size }, "grace over: aborting runs and handing their fires back");
      for (const a of this.active) a.abort("shutdown");
      // finishing an aborted run (state write, nak) is quick; a dead store must not block stop forever
      await this.waitIdle(5_000);
      this.hardStop = true;
      await this.waitIdle(1_000);
      for (const a of this.active) a.msg.nak();
    }
    await this.actions.drain(2_000);
    await this.teardown();
    this.state = "stopped";
    this.log.info("worker stopped");
    this.events.emit("worker:stop", { workerId: o.workerId });
  }

  private waitIdle(ms: number): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.idleWaiters.push(done);
    });
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
