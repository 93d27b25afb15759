/**
 * What a run tells the world: events on `<p>.evt.<tenant>.<group>.<type>.<jobId>.<phase>` (core NATS,
 * fire-and-forget, CloudEvents NATS binding: `ce-*` headers, JSON data), run-log entries on
 * `<p>.log.<tenant>.<jobId>` (JetStream, msgpack) and dead letters on `<p>.dlq.<tenant>.<jobId>` (JetStream,
 * msgpack).
 *
 * Run log: every delivery that starts a handler appends `outcome: "started"` first, then one final entry
 * (succeeded, failed, timedOut, aborted, deadLettered); fires not run append `skipped`. A worker killed
 * mid-run leaves its `started` entry, and the redelivery adds its own pair: every attempt is visible.
 */
import type { JetStreamClient, PubAck } from "@nats-io/jetstream";
import { nuid, type NatsConnection } from "@nats-io/nats-core";
import {
  CE_SPECVERSION,
  encode,
  eventType,
  JSON_TYPE,
  MSGPACK,
  type DeadLetter,
  type EventPhase,
  type FireMessage,
  type JobEventData,
  type Namespace,
  type RunLogEntry,
  type RunOutcome,
} from "@taskjet/protocol";
import { encodedHeaders, parsePubAck, type RequestMux } from "@taskjet/nats";

/** A run-log entry as the worker writes it: also `started`, and the JetStream delivery count. */
export type WorkerRunLogEntry = Omit<RunLogEntry, "outcome"> & {
  outcome: RunOutcome | "started";
  /** JetStream delivery count of the message (2+ after a crash or hand-back) */
  delivery?: number;
};

/** Event phases the worker publishes; `progress` is an addition to the protocol's phases. */
export type WorkerEventPhase = EventPhase | "progress";

/** The run log's and the dead letters' headers: the same for every entry (final: shared by all messages). */
const MSGPACK_HEADERS = encodedHeaders([["Content-Type", MSGPACK]]);

export class Telemetry {
  private readonly source: string;

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly mux: RequestMux,
    private readonly ns: Namespace,
    workerId: string,
    readonly eventsOn: boolean,
    readonly runLogOn: boolean,
    /** a run-log entry was stored: a write got through to the cluster (reach.ts) */
    private readonly stored: () => void = () => undefined,
  ) {
    this.source = `taskjet/worker/${workerId}`;
  }

  eventSubject(fire: FireMessage, phase: WorkerEventPhase): string {
    const def = { tenantId: fire.tenantId, group: fire.group, type: fire.type, id: fire.jobId };
    if (phase === "progress") return this.ns.event(def, "after").replace(/\.after$/, ".progress");
    return this.ns.event(def, phase);
  }

  /** Publishes an event (core NATS). Never throws. */
  event(
    fire: FireMessage,
    phase: WorkerEventPhase,
    data: JobEventData | (JobEventData & Record<string, unknown>),
  ): void {
    if (!this.eventsOn) return;
    try {
      // encoded once per event, not built through nats.js' headers() (encodedHeaders.ts says why)
      const h = encodedHeaders([
        ["ce-specversion", CE_SPECVERSION],
        ["ce-id", nuid.next()],
        ["ce-type", phase === "progress" ? "io.taskjet.job.progress" : eventType(phase)],
        ["ce-source", this.source],
        ["ce-subject", fire.jobId],
        ["ce-time", new Date().toISOString()],
        ["Content-Type", JSON_TYPE],
      ]);
      this.nc.publish(this.eventSubject(fire, phase), Buffer.from(safeJson(data)), { headers: h });
    } catch {
      // closed connection: events are best effort
    }
  }

  /** Appends a run-log entry; resolves when stored (or at once when the run log is off). */
  async log(entry: WorkerRunLogEntry): Promise<void> {
    if (!this.runLogOn) return;
    const subject = this.ns.log(entry.tenantId, entry.jobId);
    parsePubAck(
      await this.mux.request(subject, encode(dropUndefinedInPlace(entry)), MSGPACK_HEADERS),
      subject,
    );
    this.stored();
  }

  /** Copies a dead letter to `<p>.dlq.<tenant>.<jobId>` (always on: it is the record of a given-up fire). */
  deadLetter(tenant: string, jobId: string, letter: DeadLetter): Promise<PubAck> {
    return this.js.publish(this.ns.dlq(tenant, jobId), encode(dropUndefinedInPlace(letter)), {
      headers: MSGPACK_HEADERS,
    });
  }
}

/** JSON that never throws: values JSON cannot hold become strings. */
export function safeJson(value: unknown): string {
  try {
    // a replacer is a call per value: only a value JSON refuses (a bigint) is worth the second pass
    return JSON.stringify(value);
  } catch {
    // fall through
  }
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  } catch {
    const v = value as Record<string, unknown>;
    return JSON.stringify({ ...v, result: String(v["result"]) });
  }
}

/** Drops undefined properties in place (not a copy like protocol's withoutUndefined: once per run, no garbage). */
function dropUndefinedInPlace<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
