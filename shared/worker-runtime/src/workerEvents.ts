/**
 * The worker's in-process lifecycle events (graphile-worker style, namespaced), for tests to await and hosts
 * to meter. Listeners run synchronously inside the worker: keep them cheap, and they must not throw.
 */
import { EventEmitter } from "node:events";
import type { FireMessage, JobState } from "@taskjet/protocol";
import type { AbortReason } from "./errors.js";

export interface RunRef {
  fire: FireMessage;
  /** JetStream delivery count of this message (2+ after a redelivery) */
  delivery: number;
}

export interface WorkerEvents {
  "worker:start": { workerId: string; node: string };
  "worker:stop": { workerId: string };
  /** something went wrong outside a handler (a store write, a publish); the worker keeps running */
  "worker:error": { error: unknown; where: string };
  /** the connection came back after an outage: pulls resume */
  "worker:reconnect": { workerId: string };
  "run:start": RunRef & { startedAt: string };
  "run:progress": RunRef & { progress: number | Record<string, unknown> };
  "run:success": RunRef & { result: unknown; durationMs: number; state?: JobState };
  "run:failure": RunRef & {
    error: string;
    durationMs: number;
    timedOut: boolean;
    /** true when the scheduler will fire it again (failedRetry / next period), false when abandoned */
    willRetry: boolean;
    retryAt?: string;
    state?: JobState;
  };
  "run:abandoned": RunRef & { error: string; state?: JobState };
  /** the run was interrupted (pause, remove, replace, shutdown); shutdown hands the fire back */
  "run:aborted": RunRef & { reason: AbortReason; handedBack: boolean };
  /** the fire came before its nominal time: prepared, and held until `until` (ISO) to start */
  "run:held": RunRef & { until: string };
  /**
   * held fires reached their instant while no write of this worker had got through to the cluster lately,
   * and a probe write did not land either (reach.ts): handed back instead of run
   */
  "run:unreachable": RunRef;
  /** the fire was not run: job removed, paused or stopped */
  "run:skipped": RunRef & { reason: string };
  /**
   * a redelivered fire that another worker still runs, or is still writing the outcome of (heldFires.ts):
   * handed back, it comes back in 5 s
   */
  "run:heldElsewhere": RunRef & { holder: string };
  /** another run holds the job's lock: the fire comes back after lockRetryMs */
  "run:locked": RunRef & { holder?: string };
  /** a message that was not a valid fire: terminated and dead-lettered */
  "message:poison": { subject: string; error: string; field?: string };
  "action:done": { fireId: string; kind: string; trigger: string };
  "action:error": { fireId: string; kind: string; trigger: string; error: string };
}

export type WorkerEventName = keyof WorkerEvents;
export type WorkerListener<K extends WorkerEventName> = (event: WorkerEvents[K]) => void;

/** A typed facade over EventEmitter. */
export class WorkerEventEmitter {
  private readonly ee = new EventEmitter();

  constructor() {
    // many tests and hosts may listen; this is not a leak
    this.ee.setMaxListeners(0);
  }

  on<K extends WorkerEventName>(name: K, fn: WorkerListener<K>): this {
    this.ee.on(name, fn);
    return this;
  }

  once<K extends WorkerEventName>(name: K, fn: WorkerListener<K>): this {
    this.ee.once(name, fn);
    return this;
  }

  off<K extends WorkerEventName>(name: K, fn: WorkerListener<K>): this {
    this.ee.off(name, fn);
    return this;
  }

  /** Resolves with the next `name` event that `filter` accepts; rejects after `timeoutMs`. */
  next<K extends WorkerEventName>(
    name: K,
    filter: (e: WorkerEvents[K]) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<WorkerEvents[K]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.ee.off(name, fn);
        reject(new Error(`no "${name}" event within ${timeoutMs} ms`));
      }, timeoutMs);
      const fn = (e: WorkerEvents[K]) => {
        if (!filter(e)) return;
        clearTimeout(timer);
        this.ee.off(name, fn);
        resolve(e);
      };
      this.ee.on(name, fn);
    });
  }

  /** True when someone listens: the worker builds an event's payload only then. */
  has(name: WorkerEventName): boolean {
    return this.ee.listenerCount(name) > 0;
  }

  /** Where a listener's exception goes; the worker logs it. */
  onListenerError: (err: unknown, name: WorkerEventName) => void = () => undefined;

  /** Calls every listener; one that throws is reported and must not break a run or the listeners after it. */
  emit<K extends WorkerEventName>(name: K, event: WorkerEvents[K]): void {
    if (this.ee.listenerCount(name) === 0) return;
    // raw listeners, so a once() wrapper still removes itself when called
    for (const listener of this.ee.rawListeners(name) as ((e: WorkerEvents[K]) => void)[]) {
      try {
        listener(event);
      } catch (err) {
        this.onListenerError(err, name);
      }
    }
  }
}
