/**
 * What reaches the worker: pulled fires and interrupts. A fire due now runs in a free slot or waits in the
 * prefetch buffer (runSlots.ts). One that came before its nominal time is prepared at once (Runner.prepare)
 * and held outside the slots (earlyFires.ts) until its instant, so its handler starts on time. An interrupt
 * aborts the matching runs; a pause, stop or removal also skips the matching fires that have not started.
 */
import type { Logger } from "pino";
import { decode, encodingOf, type FireMessage } from "@taskjet/protocol";
import { ActiveRun } from "../run/activeRun.js";
import { decodeFire } from "../run/decodeFire.js";
import { EarlyFires } from "./earlyFires.js";
import type { ResolvedWorkerOptions } from "../options.js";
import type { Runner } from "../run/runner.js";
import type { RunMessage } from "../run/runMessage.js";
import type { RunSlots } from "./runSlots.js";
import type { WorkerEventEmitter } from "../workerEvents.js";

/** An interrupt on `<p>.ctl.<node>` or `<p>.ctl._all` (msgpack, or JSON by Content-Type). */
export interface Interrupt {
  jobId: string;
  tenantId: string;
  fireId?: string;
  reason: string;
}

export interface IntakeDeps {
  o: ResolvedWorkerOptions;
  slots: RunSlots;
  /** the started worker's runner */
  runner: () => Runner;
  events: WorkerEventEmitter;
  log: Logger;
  /** an early fire was settled while being prepared: the puller may pull again */
  settled: () => void;
  /** true while the worker stops */
  stopping: () => boolean;
  /** true while the worker stops and once it has stopped */
  closed: () => boolean;
  /** drops the worker's copy of a job (jobCache.ts) */
  forgetJob: (tenantId: string, jobId: string) => void;
  /** whether a write can get through to the cluster now (reach.ts); `true` at once when one did lately */
  confirmReach: () => true | Promise<boolean>;
}

export class Intake {
  /** fires that came before their nominal time: being prepared, or prepared and held (earlyFires.ts) */
  private readonly preparing = new Set<ActiveRun>();
  private readonly early = new EarlyFires((runs) => this.release(runs));

  constructor(private readonly d: IntakeDeps) {}

  /** Early fires prepared and held for their nominal time. */
  get held(): number {
    return this.early.size;
  }

  /**
   * A pulled message: an early fire is prepared and held until its nominal time; any other runs if a slot
   * is free, else waits in the prefetch buffer (by priority).
   */
  accept(msg: RunMessage): void {
    const a = new ActiveRun(msg);
    const nominalMs = this.d.o.holdEarlyFires ? nominalOf(a) : undefined;
    if (nominalMs !== undefined && nominalMs > Date.now() && !this.d.stopping())
      return this.hold(a, nominalMs);
    this.d.slots.enqueue(a);
  }

  interrupt(data: Uint8Array, contentType: string | undefined): void {
    let it: Interrupt;
    try {
      it = decode(data, encodingOf(contentType)) as Interrupt;
      if (!it || typeof it.jobId !== "string" || typeof it.tenantId !== "string")
        throw new Error("jobId and tenantId are required");
    } catch (err) {
      this.d.log.warn({ err }, "ignoring a malformed interrupt");
      return;
    }
    // whatever the reason: the job changed, so its next fire reads it again
    this.d.forgetJob(it.tenantId, it.jobId);
    // the scheduler sends "*" (any run of the job) when it did not track the runs
    const matches = (f: FireMessage | undefined): f is FireMessage =>
      f !== undefined &&
      f.jobId === it.jobId &&
      f.tenantId === it.tenantId &&
      (it.fireId === undefined || it.fireId === "*" || f.fireId === it.fireId);
    for (const a of this.d.slots.active) {
      if (!matches(a.fire)) continue;
      this.d.log.info({ fireId: a.fire.fireId, reason: it.reason }, "interrupting run");
      a.abort(String(it.reason ?? "interrupted"));
    }
    // a fire waiting for its instant does not run when its job was paused, stopped or removed meanwhile
    // (an overlap replace is about the running one, not this one)
    if (it.reason === "replaced") return;
    const reason = String(it.reason ?? "interrupted");
    const runner = this.d.runner();
    for (const a of this.preparing) if (matches(a.fire)) a.abort(reason);
    for (const a of this.early.take((h) => matches(h.fire))) void runner.skipPrepared(a, reason);
    // released early fires waiting for a slot were read before the interrupt: skip them too
    this.d.slots.dropPrepared(
      (a) => matches(a.fire),
      (a) => void runner.skipPrepared(a, reason),
    );
  }

  /** In-progress acks for held fires that arrived before `cutoff`. */
  keepHeldAlive(cutoff: number): void {
    // held early fires are ours until their instant (maxEarlyMs may exceed the ack wait)
    for (const a of this.early.all()) if (a.msg.receivedAt <= cutoff) a.msg.working();
  }

  /** Every held fire is handed back (stop). */
  handBackHeld(): void {
    for (const a of this.early.clear()) a.msg.nak();
  }

  private hold(a: ActiveRun, nominalMs: number): void {
    const until = Math.min(nominalMs, Date.now() + this.d.o.maxEarlyMs);
    this.preparing.add(a);
    const runner = this.d.runner();
    void runner.prepare(a).then((ok) => {
      this.preparing.delete(a);
      if (!ok) return this.d.settled();
      if (this.d.closed()) return a.msg.nak();
      // interrupted (paused, stopped, removed) while its job was being read
      if (a.abortReason !== undefined) return void runner.skipPrepared(a, a.abortReason);
      this.early.hold(a, until);
      if (this.d.events.has("run:held") && a.prepared) {
        const { ref } = a.prepared;
        this.d.events.emit("run:held", { ...ref, until: new Date(until).toISOString() });
      }
    });
  }

  /**
   * Early fires whose instant came: highest priority first into free slots, the rest into the buffer. Only
   * while this worker can get a write through to the cluster: a worker cut off from it hands them back
   * rather than run fires whose acks and outcomes cannot get out (another worker would run them again).
   */
  private release(runs: ActiveRun[]): void {
    if (this.d.closed()) {
      for (const a of runs) a.msg.nak();
      return;
    }
    const reach = this.d.confirmReach();
    if (reach === true) return this.d.slots.release(runs);
    void reach.then((ok) => {
      if (this.d.closed()) {
        for (const a of runs) a.msg.nak();
      } else if (ok) {
        this.d.slots.release(runs);
      } else {
        this.d.log.warn(
          { fires: runs.length },
          "held fires not started: no write got through to the cluster lately, and a probe did not land; handing them back",
        );
        for (const a of runs) {
          a.msg.nak();
          if (a.prepared) this.d.events.emit("run:unreachable", a.prepared.ref);
        }
        this.d.settled();
      }
    });
  }
}

/**
 * A fire's nominal time in ms (undefined for a message that is not a valid fire). Decodes the payload now
 * (kept for the run: decoded once) rather than parsing the headers of every message.
 */
function nominalOf(a: ActiveRun): number | undefined {
  const d = (a.decoded = decodeFire(a.msg));
  return d.ok ? Date.parse(d.fire.nominalTime) : undefined;
}
