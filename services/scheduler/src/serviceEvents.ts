/**
 * What the service reports as it works: a typed, namespaced event map that tests and embedders await
 * instead of sleeping, plus counters for dashboards.
 */
import { EventEmitter } from "node:events";
import type { CursorValue } from "./fire/fireCursor.js";

export interface ServiceEventMap {
  /** this replica became leader and fires (after claiming the cursor) */
  "leader:elected": [{ epoch: number }];
  /** this replica held the lease but could not start firing; it campaigns again after `pauseMs` */
  "leader:takeoverFailed": [{ epoch: number; failures: number; pauseMs: number; error: string }];
  /** this replica stopped firing (lost or released the lease, standby, stop) */
  "leader:lost": [{ epoch: number; reason: string }];
  /** fires acked by JetStream (duplicate = the stream had it already: a replay after takeover) */
  "fire:published": [
    { key: string; fireId: string; nominalMs: number; reason: string; attempt: number; duplicate: boolean },
  ];
  /** a batch went out: its due instant, how many fires, when the last was handed to the socket / acked (wall ms) */
  "fire:batch": [{ instantMs: number; count: number; issuedMs: number; ackedMs: number }];
  /** a publish failed; the fire is tried again */
  "fire:failed": [{ key: string; error: string }];
  "fire:skipped": [{ key: string; count: number; reason: string }];
  "cursor:written": [CursorValue];
  /** a follower saw the leader's cursor */
  "cursor:seen": [CursorValue];
  "clock:skew": [{ workerId: string; skewMs: number }];
  /** a job was accepted whose type no worker has registered yet (its args were not checked) */
  "job:unknownType": [{ type: string }];
  /** the service finished a graceful stop */
  "service:stopped": [];
}

/**
 * A listener that throws is reported to `onListenerError` and the other listeners still run: events are
 * emitted from inside the firing loop, and an embedder's bug there must not stop the leader firing.
 */
export class ServiceEvents extends EventEmitter<ServiceEventMap> {
  onListenerError: (err: unknown, event: string) => void = (err, event) =>
    console.error(`taskjet scheduler: a "${event}" listener threw`, err);

  override emit<K extends keyof ServiceEventMap>(event: K, ...args: ServiceEventMap[K]): boolean {
    // emitted per fire: nothing is allocated when no one listens
    if (this.listenerCount(event) === 0) return false;
    // raw listeners, so a once() wrapper still removes itself when called
    const listeners = this.rawListeners(event) as ((...a: unknown[]) => unknown)[];
    for (const listener of listeners) {
      try {
        listener.apply(this, args);
      } catch (err) {
        this.onListenerError(err, event);
      }
    }
    return listeners.length > 0;
  }
}

export interface SchedulerMetrics {
  firesPublished: number;
  firesDuplicate: number;
  firesSkipped: number;
  retriesPublished: number;
  bufferedReleased: number;
  publishErrors: number;
  storeWriteErrors: number;
  cursorWrites: number;
  fencedEvents: number;
  interruptsSent: number;
  clockSkewWarnings: number;
  reapedRuns: number;
}

export function newMetrics(): SchedulerMetrics {
  return {
    firesPublished: 0,
    firesDuplicate: 0,
    firesSkipped: 0,
    retriesPublished: 0,
    bufferedReleased: 0,
    publishErrors: 0,
    storeWriteErrors: 0,
    cursorWrites: 0,
    fencedEvents: 0,
    interruptsSent: 0,
    clockSkewWarnings: 0,
    reapedRuns: 0,
  };
}
