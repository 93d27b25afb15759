/**
 * Runs one delivered fire, start to end:
 *
 *   decode + validate (poison -> term + dead letter)  ->  read the job (removed/paused/stopped -> skipped, ack;
 *   a run that finished already, per state.doneRuns -> skipped "finished", ack)
 *   -> lock (held -> nak with delay)  ->  state.running += run (trackRunning, CAS)  ->  "started" log entry,
 *   before event + hooks  ->  handler (signal: interrupts, timeout, shutdown)  ->  one CAS write of the
 *   outcome (with the revision read before the run; re-read only on a lost race)  ->  ack (or nak on
 *   shutdown)  ->  final log entry, after event, hooks, actions.
 *
 * The one store read before the run is what the final compare-and-set needs anyway, so a once job costs one
 * read and one write. A recurring job's later fires skip the read when the worker holds a copy at least as
 * new as the fire (jobCache.ts). Store writes ride out a NATS outage (retried until finalizeTimeoutMs; the
 * message is kept alive by in-progress acks meanwhile); if they cannot be made the fire is handed back, not
 * acked.
 * This is the hot path: nothing is built that no one will read (events off, no listeners, no hooks).
 *
 * The runner keeps the order of the steps, the lock, and the ways a fire is settled without running (poison,
 * no handler, skipped); the handler call is handlerInvoker.ts, the outcome write outcomeWriter.ts, the
 * retries through an outage durable.ts, the run log and event data runReporter.ts.
 */
import type { Logger } from "pino";
import {
  fastRecordOf,
  isName,
  nameOfToken,
  RESENT_WINDOW_MS,
  withRetention,
  type FireMessage,
  type JobDefinition,
  type JobRecord,
  type Namespace,
  type RunInfo,
  type StoredJob,
} from "@taskjet/protocol";
import {
  failSpan,
  inSpan,
  jobAttributes,
  SpanKind,
  startSpan,
  tracingOn,
  type LockHandle,
  type LockProvider,
} from "@taskjet/nats";
import type { ActionRunner } from "../outcome/actions.js";
import type { ActiveRun, PreparedRun } from "./activeRun.js";
import { decodeFire, type PoisonInfo } from "./decodeFire.js";
import { Durable } from "../outcome/durable.js";
import type { JobHook, Registration } from "../handler.js";
import { HandlerInvoker } from "./handlerInvoker.js";
import type { HeldAnswer, HeldQuery, HeldState } from "./heldFires.js";
import type { CachedJobStore } from "../outcome/jobCache.js";
import { ranAlready, withRunning, type RunResult } from "../outcome/outcome.js";
import { OutcomeWriter } from "../outcome/outcomeWriter.js";
import { RecentRuns } from "../outcome/recentRuns.js";
import type { ResolvedWorkerOptions } from "../options.js";
import type { RunMessage } from "./runMessage.js";
import { RunReporter } from "../outcome/runReporter.js";
import type { StateCoalescer } from "../outcome/stateCoalescer.js";
import type { Telemetry } from "../telemetry/telemetry.js";

/** A message this worker cannot take now goes back for this long (another worker, or later). */
const HAND_BACK_MS = 5_000;
import type { RunRef, WorkerEventEmitter } from "../workerEvents.js";

export interface RunnerDeps {
  o: ResolvedWorkerOptions;
  ns: Namespace;
  store: CachedJobStore;
  locks: LockProvider;
  /** coalesced outcome writes of frequent recurring jobs (stateCoalescer.ts) */
  coalescer: StateCoalescer;
  telemetry: Telemetry;
  actions: ActionRunner;
  events: WorkerEventEmitter;
  handlers: ReadonlyMap<string, Registration>;
  beforeHooks: JobHook[];
  afterHooks: JobHook[];
  logger: Logger;
  /** true once stop()'s grace is over: retries of store writes give up and hand the fire back */
  givingUp: () => boolean;
  /** asks the other workers whether one of them holds a fire (heldFires.ts askHeld) */
  askHeld: (q: HeldQuery) => Promise<HeldAnswer | undefined>;
}

export class Runner {
  private readonly events: WorkerEventEmitter;
  private readonly telemetry: Telemetry;
  private readonly durable: Durable;
  private readonly report: RunReporter;
  private readonly invoker: HandlerInvoker;
  private readonly outcome: OutcomeWriter;
  /**
   * Fires executing here, by fire id, until their outcome is written (or the write gave up). A copy of one
   * that arrives meanwhile (a redelivery after lost in-progress acks, a fire stored twice) waits for it
   * before reading the store, so it finds the outcome instead of running the fire a second time. With each,
   * its message: one handed back (shutdown) is no longer held here (holds()).
   */
  private readonly executing = new Map<string, { done: Promise<void>; msg: RunMessage }>();
  /** fast-lane runs finished here that left nothing in the store (recentRuns.ts) */
  private readonly recent = new RecentRuns();

  constructor(private readonly d: RunnerDeps) {
    this.events = d.events;
    this.telemetry = d.telemetry;
    this.durable = new Durable(d);
    this.report = new RunReporter(d, this.durable);
    this.invoker = new HandlerInvoker(d, this.report, (key) => this.readJob(key));
    this.outcome = new OutcomeWriter(d, this.durable, this.report, this.recent);
  }

  /**
   * Whether this worker holds the fire another worker asks about (heldFires.ts): `running` while its run or
   * outcome write is under way here (not once it was handed back, as on shutdown), `finished` when it ran here and its outcome is this worker's to write
   * (a pending coalesced write) or leaves nothing in the store (a fast-lane job under retention `true`).
   */
  holds(q: HeldQuery): HeldState | undefined {
    const running = this.executing.get(q.fireId);
    if (running && !running.msg.handedBack) return "running";
    if (this.recent.has(q.fireId) || this.d.coalescer.ranHere(q.key, q)) return "finished";
    return undefined;
  }

  /**
   * A fire that came back (its ack did not reach the consumer) and did not run here: asks whether another
   * worker holds it, before the store is read, so a holder that finishes its write meanwhile is seen in the
   * store. Settles the message and returns true when one does: handed back while it runs there, acked as
   * finished when it ran there.
   */
  private async settledByHolder(msg: RunMessage, ref: RunRef, key: string): Promise<boolean> {
    const { fire } = ref;
    const answer = await this.d.askHeld({ fireId: fire.fireId, attempt: fire.attempt, key });
    if (!answer) return false;
    if (answer.state === "running") {
      this.d.logger.debug(
        { fireId: fire.fireId, holder: answer.worker },
        "fire held by another worker; handed back",
      );
      msg.nak(HAND_BACK_MS);
      this.events.emit("run:heldElsewhere", { ...ref, holder: answer.worker });
    } else {
      await this.skip(msg, ref, "finished", undefined);
    }
    return true;
  }

  /** Runs the message to settlement. Never throws. */
  async run(a: ActiveRun): Promise<void> {
    try {
      const p = a.prepared ?? (await this.prepareInner(a));
      if (p) await this.executeTracked(a, p);
    } catch (err) {
      // a bug or an outage longer than finalizeTimeoutMs: hand the fire back, it is not lost
      this.d.logger.error(
        { err, subject: a.msg.subject },
        "run failed outside its handler; handing the fire back",
      );
      this.events.emit("worker:error", { error: err, where: "run" });
      a.msg.nak(this.d.o.lockRetryMs);
    }
  }

  /**
   * Prepares an early fire while it waits for its nominal time: decode, handler lookup and the store read
   * happen now, so at the instant only the lock and the handler remain. `false` when the message was settled
   * instead (poison, handed back, skipped). Never throws.
   */
  async prepare(a: ActiveRun): Promise<boolean> {
    try {
      a.prepared = await this.prepareInner(a);
      return a.prepared !== undefined;
    } catch (err) {
      this.d.logger.error({ err, subject: a.msg.subject }, "preparing a run failed; handing the fire back");
      this.events.emit("worker:error", { error: err, where: "run" });
      a.msg.nak(this.d.o.lockRetryMs);
      return false;
    }
  }

  /** A prepared run that will not run after all (its job was paused, stopped or removed while it waited). */
  async skipPrepared(a: ActiveRun, reason: string): Promise<void> {
    const p = a.prepared;
    if (!p) return;
    await this.skip(a.msg, p.ref, reason, p.stored).catch((err: unknown) =>
      this.d.logger.warn({ err, fireId: p.fire.fireId }, "recording a skipped fire failed"),
    );
  }

  private async prepareInner(a: ActiveRun): Promise<PreparedRun | undefined> {
    const { msg } = a;
    const decoded = a.decoded ?? decodeFire(msg);
    a.decoded = undefined;
    if (!decoded.ok) {
      await this.poison(msg, decoded.poison);
      return undefined;
    }
    const fire = decoded.fire;
    a.fire = fire;
    const ref: RunRef = { fire, delivery: msg.delivery };

    const reg = this.d.handlers.get(fire.type);
    if (!reg) {
      // cannot happen: a worker has consumers only for the types it registered, and decodeFire checked the
      // subject's type. Hand it back rather than lose it
      this.d.logger.error({ type: fire.type, fireId: fire.fireId }, "a fire of a type with no handler here");
      msg.nak(HAND_BACK_MS);
      return undefined;
    }

    if (decoded.fast) return this.prepareFast(msg, ref, reg, decoded.fast);
    const key = this.d.ns.jobKey({ tenantId: fire.tenantId, group: fire.group, id: fire.jobId });
    // the same fire still running or finishing on this worker: its outcome first, then the leader's copy
    const earlier = this.executing.get(fire.fireId)?.done;
    if (earlier) await earlier;
    // a redelivery whose first run another worker still holds (a lost ack, not a dead worker): not run here
    if (ref.delivery > 1 && !earlier && (await this.settledByHolder(msg, ref, key))) return undefined;
    // A redelivered fire may have run already (its ack was lost in a crash or a stream leader change): the
    // stream leader's copy of the job says, with every finished run's outcome. Otherwise a copy at least as
    // new as the fire will do (jobCache.ts); a read older than that, or finding no job, is asked of the leader
    // (store.ts).
    let stored =
      ref.delivery > 1 || earlier
        ? await this.durable.call(() => this.d.store.latest(key))
        : ((fire.revision !== undefined ? this.d.store.cached(key, fire.revision) : undefined) ??
          (await this.durable.call(() => this.d.store.get(key, fire.revision))));
    // a fire without a revision cannot tell a lagging replica's paused or stopped from the truth
    if (ref.delivery <= 1 && fire.revision === undefined && skipReason(stored) !== undefined)
      stored = await this.durable.call(() => this.d.store.latest(key));
    const skip = skipReason(stored);
    if (skip !== undefined || !stored) {
      await this.skip(msg, ref, skip ?? "removed", stored);
      return undefined;
    }
    // effectively once: a fire whose run finished (its outcome is in the store, or in this worker's pending
    // coalesced write) is acked, not run again; a fire stored twice is recognised the same way
    if (ranAlready(stored, fire) || this.d.coalescer.ranHere(key, fire)) {
      await this.skip(msg, ref, "finished", stored);
      return undefined;
    }
    return { fire, ref, reg, key, stored };
  }

  /**
   * A fast-lane job: no store read on its first delivery (its message is its record). A redelivery, or a
   * copy that waited for the same run here, asks the stream leader's copy of the job whether the run
   * finished already (the record it wrote: doneRuns), or this worker's memory of runs that wrote nothing.
   */
  private async prepareFast(
    msg: RunMessage,
    ref: RunRef,
    reg: Registration,
    job: JobDefinition,
  ): Promise<PreparedRun | undefined> {
    const fire: FireMessage = ref.fire;
    if (msg.size > this.d.o.maxJobBytes) {
      // a producer checks this before it publishes (the SDK does); a raw client may not
      await this.poison(msg, {
        error:
          `invalid fast-lane job: maxJobBytes: the message is ${msg.size} bytes, more than the ` +
          `${this.d.o.maxJobBytes} this worker runs`,
        field: "maxJobBytes",
        tenant: fire.tenantId,
        jobId: fire.jobId,
      });
      return undefined;
    }
    // retention resolved here, as the scheduler does at acceptance for the jobs it stores (retention.ts)
    const def = this.d.o.retention ? withRetention(job, this.d.o.retention) : job;
    const key = this.d.ns.jobKey(def);
    const earlier = this.executing.get(fire.fireId)?.done;
    if (earlier) await earlier;
    if (this.recent.has(fire.fireId)) {
      await this.skip(msg, ref, "finished", undefined);
      return undefined;
    }
    // delivered (by its count, for the first time) longer than an ack wait after its acceptance: a consumer
    // whose state a leader change reset redelivers with count 1 (seen after partition heals), so the store
    // says whether it ran; a job waiting that long in a backlog pays one read
    const late = Date.now() - Date.parse(fire.nominalTime) > this.d.o.ackWaitMs;
    // only a counted redelivery asks: a late first delivery is mostly a backlog, which must not wait
    if (ref.delivery > 1 && !earlier && (await this.settledByHolder(msg, ref, key))) return undefined;
    if (ref.delivery > 1 || earlier || msg.resent || late) {
      const stored = await this.durable.call(() => this.d.store.latest(key));
      if (
        stored?.def &&
        stored.state &&
        (ranAlready(stored, fire) || (msg.resent && sameJob(stored, fire)))
      ) {
        await this.skip(msg, ref, "finished", stored);
        return undefined;
      }
    }
    const rec = fastRecordOf(def, Date.parse(fire.nominalTime));
    return { fire, ref, reg, key, stored: { ...rec, revision: 0 }, fast: true };
  }

  private async executeTracked(a: ActiveRun, p: PreparedRun): Promise<void> {
    const id = p.fire.fireId;
    const run = this.execute(a, p);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    const entry = { done: settled, msg: a.msg };
    this.executing.set(id, entry);
    try {
      await run;
    } finally {
      if (this.executing.get(id) === entry) this.executing.delete(id);
    }
  }

  private async execute(a: ActiveRun, p: PreparedRun): Promise<void> {
    const { msg } = a;
    const { fire, ref, reg, key } = p;
    let stored = p.stored;
    let lock: LockHandle | undefined;
    if (fire.lockTimeoutSeconds > 0) {
      const lockKey = `${fire.tenantId}.${fire.jobId}`;
      lock = await this.durable.call(() =>
        this.d.locks.acquire(lockKey, this.d.o.workerId, fire.fireId, fire.lockTimeoutSeconds * 1000),
      );
      if (!lock) {
        const holder = await this.d.locks.holder(lockKey).catch(() => undefined);
        this.events.emit("run:locked", { ...ref, ...(holder ? { holder: holder.owner } : {}) });
        msg.nak(this.d.o.lockRetryMs);
        return;
      }
    }

    try {
      const startedMs = Date.now();
      const startedIso = new Date(startedMs).toISOString();
      if (fire.trackRunning) {
        const entry: RunInfo = {
          fireId: fire.fireId,
          nominalTime: fire.nominalTime,
          worker: this.d.o.workerId,
          node: this.d.o.node,
          startedAt: startedIso,
          attempt: fire.attempt,
        };
        const written = await this.durable.write(key, stored, (rec) =>
          skipReason(rec) === undefined ? withRunning(rec, entry, startedIso) : undefined,
        );
        const late = skipReason(written);
        if (late !== undefined || !written) return this.skip(msg, ref, late ?? "removed", written);
        stored = written;
      }
      const startLog = this.report.log(fire, ref, "started", startedIso);
      const run = async () => {
        const result = await this.invoker.invoke(a, reg, ref, stored, key, startedIso);
        const turn = a.onHandlerDone?.();
        if (turn) await turn;
        await this.outcome.finish(a, ref, key, stored, result, startedIso, startedMs, startLog, p.fast);
        return result;
      };
      if (!tracingOn()) await run();
      else await this.traced(msg, ref, run);
    } finally {
      if (lock) await this.d.locks.release(lock).catch(() => undefined);
    }
  }

  /**
   * Tracing on: the run as a span, a child of the fire's (its headers); the handler, the outcome write and the
   * job's actions run inside it.
   */
  private async traced(msg: RunMessage, ref: RunRef, run: () => Promise<RunResult>): Promise<void> {
    const { fire } = ref;
    const span = startSpan(
      "taskjet.run",
      msg.traceContext(),
      {
        ...jobAttributes(fire),
        "taskjet.fire.id": fire.fireId,
        "taskjet.fire.attempt": fire.attempt,
        "taskjet.fire.reason": fire.reason,
        "taskjet.run.delivery": ref.delivery,
        "taskjet.worker.id": this.d.o.workerId,
        "taskjet.worker.node": this.d.o.node,
      },
      { kind: SpanKind.CONSUMER },
    );
    await inSpan(span, async () => {
      const result = await run();
      span.setAttribute("taskjet.run.outcome", result.kind);
      if (result.kind === "failed") failSpan(span, result.error);
    });
  }

  /** The job was removed, paused or stopped: the fire is not run, acked and recorded as skipped. */
  private async skip(
    msg: RunMessage,
    ref: RunRef,
    reason: string,
    rec: JobRecord | undefined,
  ): Promise<void> {
    const { fire } = ref;
    msg.ack();
    this.events.emit("run:skipped", { ...ref, reason });
    if (this.telemetry.eventsOn) {
      this.telemetry.event(fire, "skipped", this.report.eventData(fire, "skipped", rec, { reason }));
    }
    await this.report.log(fire, ref, "skipped", undefined, { reason });
  }

  private async poison(msg: RunMessage, p: PoisonInfo): Promise<void> {
    this.d.logger.warn(
      { subject: msg.subject, error: p.error },
      "poison message: terminated and dead-lettered",
    );
    try {
      await this.durable.call(() =>
        this.telemetry.deadLetter(p.tenant, p.jobId, {
          reason: "poison",
          error: p.error,
          subject: msg.subject,
          at: new Date().toISOString(),
          rawBase64: Buffer.from(msg.data).toString("base64"),
          ...(p.value !== undefined ? { fire: p.value } : {}),
        }),
      );
      msg.term();
      this.poisonEvent(msg, p);
    } catch (err) {
      // the dead letter could not be stored: keep the message rather than lose it
      this.d.logger.error({ err }, "could not dead-letter a poison message; it comes back later");
      msg.nak(HAND_BACK_MS);
    }
    this.events.emit("message:poison", {
      subject: msg.subject,
      error: p.error,
      ...(p.field ? { field: p.field } : {}),
    });
  }

  /**
   * A `deadletter` event for a poison message that names its tenant and job (a malformed fast-lane job from
   * any NATS client, a fire that fails its schema): data with `reason: "poison"` and the error, so a
   * producer that subscribed to its job's events learns why it will never run.
   */
  private poisonEvent(msg: RunMessage, p: PoisonInfo): void {
    if (!this.telemetry.eventsOn || p.tenant === "_unknown" || p.jobId === "_unknown") return;
    const v = (p.value ?? {}) as Record<string, unknown>;
    const typeToken = msg.subject.split(".")[4] ?? "";
    const type = nameOfToken(typeToken) ?? "_unknown";
    const group = typeof v["group"] === "string" && isName(v["group"]) ? v["group"] : "default";
    const at = new Date(msg.storedAtMs).toISOString();
    const fire = { tenantId: p.tenant, jobId: p.jobId, group, type } as FireMessage;
    this.telemetry.event(fire, "deadletter", {
      key: this.d.ns.jobKey({ tenantId: p.tenant, group, id: p.jobId }),
      fireId: typeof v["fireId"] === "string" ? v["fireId"] : "",
      type,
      name: typeof v["name"] === "string" ? v["name"] : "",
      group,
      tenantId: p.tenant,
      args: {},
      status: "deadLettered",
      phase: "deadletter",
      nominalTime: at,
      attempt: 1,
      triggered: 0,
      repeatCount: 0,
      error: p.error,
      reason: "poison",
      node: this.d.o.node,
      worker: this.d.o.workerId,
    });
  }

  private readJob(key: string): Promise<StoredJob | undefined> {
    return this.d.store.get(key).then((j) => (skipReason(j) === "removed" ? undefined : j));
  }
}

/** Why a stored job's fire must not run; JobStore.get of a deleted key yields an entry without def/state. */
function skipReason(rec: JobRecord | undefined): string | undefined {
  if (!rec?.def || !rec.state) return "removed";
  const s = rec.state.status;
  return s === "paused" || s === "stopped" ? s : undefined;
}

/**
 * A resent fast-lane job (protocol RESENT_HEADER) whose earlier copy was stored and ran although the stream
 * forgot its message id (a server restart): the store holds a record of the job accepted at most
 * RESENT_WINDOW_MS before this copy (its finished record, or the stored retry the scheduler now owns). An
 * older record is an earlier job under a reused id: the copy runs.
 */
function sameJob(stored: JobRecord, fire: FireMessage): boolean {
  const acceptedMs = Date.parse(stored.state.createdAt);
  const copyMs = Date.parse(fire.nominalTime);
  return acceptedMs <= copyMs && copyMs - acceptedMs <= RESENT_WINDOW_MS;
}
