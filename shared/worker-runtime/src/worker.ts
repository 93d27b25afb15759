/**
 * The worker front: registers handlers, hooks and actions, and owns the lifecycle. start() builds the NATS
 * side (assembly.ts); pulled fires come in through intake.ts, wait for a run slot (runSlots.ts) and are run
 * by the Runner. start() and stop() are idempotent; a concurrent caller gets the same in-flight promise.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "pino";
import type { z } from "zod";
import { isDefinedJob, type DefinedJob, type ParsedArgsOf } from "@taskjet/jobs";
import { FailedPreconditionError, printableName, ValidationError } from "@taskjet/protocol";
import { ActionRunner, type ActionFn } from "./outcome/actions.js";
import { WorkerAssembly } from "./assembly.js";
import { DestinationPolicy } from "./outcome/destinationPolicy.js";
import { GuardedHttp } from "./outcome/guardedHttp.js";
import type { JobHandler, JobHook, Registration, RegisterOptions } from "./handler.js";
import { Intake } from "./intake/intake.js";
import { resolveOptions, type ResolvedWorkerOptions, type WorkerOptions } from "./options.js";
import { RunSlots } from "./intake/runSlots.js";
import { WorkerEventEmitter } from "./workerEvents.js";

type State = "new" | "starting" | "running" | "stopping" | "stopped";

export class Worker {
  /** typed lifecycle events: `worker.events.on("run:success", ...)`, `await worker.events.next("run:start")` */
  readonly events = new WorkerEventEmitter();
  readonly options: ResolvedWorkerOptions;
  /**
   * outgoing HTTP under the operator's destination policy (httpAllow / httpDeny, httpMaxResponseBytes):
   * what the `http` job and `webhook` actions use; handlers that fetch URLs from job args should too
   */
  readonly http: GuardedHttp;
  private readonly handlers = new Map<string, Registration>();
  private readonly beforeHooks: JobHook[] = [];
  private readonly afterHooks: JobHook[] = [];
  private readonly actions: ActionRunner;
  private readonly slots: RunSlots;
  private readonly intake: Intake;
  /** the NATS side: connection, runner, puller, heartbeats (built by start) */
  private readonly parts: WorkerAssembly;
  private readonly log: Logger;
  private state: State = "new";
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private hardStop = false;

  constructor(options: WorkerOptions = {}) {
    this.options = resolveOptions(options);
    this.log = this.options.logger.child({ workerId: this.options.workerId, node: this.options.node });
    this.events.onListenerError = (err, event) => this.log.error({ err, event }, "an event listener threw");
    const o = this.options;
    this.http = new GuardedHttp(
      new DestinationPolicy({ allow: o.httpAllow, deny: o.httpDeny }),
      o.httpMaxResponseBytes,
    );
    this.actions = new ActionRunner({
      nc: () => this.parts.nc,
      prefix: () => this.parts.prefix,
      timeoutMs: o.actionTimeoutMs,
      logger: this.log,
      events: this.events,
      http: this.http,
      subjectAllow: o.actionSubjectAllow,
    });
    const settled = () => this.parts.puller?.notify();
    const stopping = () => this.state === "stopping";
    this.slots = new RunSlots({ o: this.options, run: (a) => this.parts.runner!.run(a), settled, stopping });
    this.intake = new Intake({
      o: this.options,
      slots: this.slots,
      runner: () => this.parts.runner!,
      events: this.events,
      log: this.log,
      settled,
      stopping,
      closed: () => this.state === "stopping" || this.state === "stopped",
      forgetJob: (tenantId, jobId) => this.parts.store?.forget(tenantId, jobId),
      confirmReach: () => this.parts.reach?.confirm() ?? true,
    });
    this.parts = new WorkerAssembly({
      o: this.options,
      log: this.log,
      events: this.events,
      actions: this.actions,
      handlers: this.handlers,
      beforeHooks: this.beforeHooks,
      afterHooks: this.afterHooks,
      slots: this.slots,
      intake: this.intake,
      givingUp: () => this.hardStop,
      stopped: () => this.state === "stopped",
      tick: () => this.tick(),
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

  /** Runs that started from the worker's copy of their job, without a store read (jobCacheSize). */
  get jobCacheHits(): number {
    return this.parts.store?.hits ?? 0;
  }

  /** Successful runs whose coalesced state write is still to be made. */
  get pendingStateRuns(): number {
    return this.parts.coalescer?.size ?? 0;
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
    const nc = this.parts.nc;
    if (!nc) throw new FailedPreconditionError("the worker is not started: call start() first");
    return nc;
  }

  /**
   * Registers the handler of a job type. With `argsSchema` (zod) the args are parsed before the handler runs,
   * and a mismatch fails the run for good, naming the field. May be called before or after start().
   */
  register<D extends DefinedJob>(
    job: D,
    handler: JobHandler<ParsedArgsOf<D>>,
    opts?: Omit<RegisterOptions, "argsSchema">,
  ): this;
  register<S extends z.ZodType = z.ZodType<Record<string, unknown>>>(
    type: string,
    handler: JobHandler<z.output<S>>,
    opts?: RegisterOptions<S>,
  ): this;
  register(typeOrDef: string | DefinedJob, handler: JobHandler<never>, opts: RegisterOptions = {}): this {
    if (isDefinedJob(typeOrDef)) {
      // the definition's schema parses the args, the same one producers were checked against
      const description = opts.description ?? typeOrDef.defaults.description;
      return this.register(typeOrDef.type, handler as JobHandler<Record<string, unknown>>, {
        argsSchema: typeOrDef.argsSchema,
        ...(description !== undefined ? { description } : {}),
      });
    }
    const type = typeOrDef;
    const parsed = printableName("type").safeParse(type);
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
    this.parts.heartbeat?.typesChanged();
    this.parts.typeAdded(type);
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
      await this.parts.teardown();
      this.state = "stopped";
      throw err;
    });
    return this.starting;
  }

  private async doStart(): Promise<void> {
    this.state = "starting";
    const o = this.options;
    const ns = await this.parts.build();
    this.state = "running";
    this.log.info({ concurrency: o.concurrency, types: this.types, prefix: ns.prefix }, "worker started");
    this.events.emit("worker:start", { workerId: o.workerId, node: o.node });
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
    if (this.state === "stopped") return; // its start failed and tore everything down already
    this.state = "stopping";
    if (wasStarting) await wasStarting.catch(() => undefined);
    // as above, while this stop waited for it (the failed start set the state meanwhile)
    if ((this.state as State) === "stopped") return;
    const o = this.options;
    const active = this.slots.active;
    await this.parts.puller?.stop();
    // runs finish and our pending pull requests expire meanwhile (see Puller.pollsEnded)
    const pollsEnded = this.parts.puller?.pollsEnded(o.idlePollMs + 1000);
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
    await this.parts.coalescer
      ?.close()
      .catch((err: unknown) => this.log.warn({ err }, "final coalesced state write failed"));
    await this.actions.drain(2_000);
    await this.parts.teardown();
    this.state = "stopped";
    this.log.info("worker stopped");
    this.events.emit("worker:stop", { workerId: o.workerId });
  }
}

/** `new Worker(options)`: reads the NATS settings from the environment unless `nc` or `nats` is given. */
export function createWorker(options: WorkerOptions = {}): Worker {
  return new Worker(options);
}
