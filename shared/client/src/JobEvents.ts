/**
 * Job events (the seed's IJobEventTrigger) from `<p>.evt.<tenant>.<group>.<type>.<jobId>.<phase>`:
 * CloudEvents attributes from the `ce-*` headers, data decoded by Content-Type (JSON) and checked against
 * the protocol's JobEventData. As an async iterator or as callbacks.
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import {
  CONTENT_TYPE_HEADER,
  DecodeError,
  decode,
  encodingOf,
  eventPhases,
  JobEventDataSchema,
  nameOfToken,
  parseOrThrow,
  printableName,
  token,
  type EventPhase,
  type JobEvent,
  type Namespace,
} from "@taskjet/protocol";
import { z } from "zod";

export type { JobEvent };

export interface EventFilter {
  jobId?: string;
  group?: string;
  type?: string;
  /** one phase or several; default every phase (before, after, skipped, deadletter) */
  phases?: EventPhase | readonly EventPhase[];
}

const EventFilterSchema = z.strictObject({
  jobId: token("jobId", 128).optional(),
  group: printableName("group").optional(),
  type: printableName("type").optional(),
  phases: z.union([z.enum(eventPhases), z.array(z.enum(eventPhases)).min(1)]).optional(),
});

export interface EventSubscription extends AsyncIterable<JobEvent> {
  /** Stops the subscription; a pending iterator ends. */
  close(): Promise<void>;
  /** Resolves when the server has registered the subscription (events published after it are seen). */
  ready(): Promise<void>;
}

export interface SubscribeOptions {
  /**
   * Called with the DecodeError of a malformed event. Without it the iterator throws that error (and ends);
   * with it the event is reported and skipped.
   */
  onError?: (err: DecodeError, msg: Msg) => void;
}

export class JobEvents {
  constructor(
    private readonly nc: NatsConnection,
    readonly ns: Namespace,
    readonly tenant: string,
  ) {}

  /** The NATS subject that a filter subscribes to. */
  subjectOf(filter: EventFilter = {}): string {
    const phases = phaseSet(filter);
    const phase = phases.size === 1 ? [...phases][0] : undefined;
    return this.ns.eventFilter({
      tenant: this.tenant,
      ...(filter.group ? { group: filter.group } : {}),
      ...(filter.type ? { type: filter.type } : {}),
      ...(filter.jobId ? { jobId: filter.jobId } : {}),
      ...(phase ? { phase } : {}),
    });
  }

  /** Events as an async iterator: `for await (const e of client.events.subscribe({ jobId }))`. */
  subscribe(filter: EventFilter = {}, opts: SubscribeOptions = {}): EventSubscription {
    parseOrThrow(EventFilterSchema, filter);
    const phases = phaseSet(filter);
    const sub = this.nc.subscribe(this.subjectOf(filter));
    const nc = this.nc;
    async function* iterate(): AsyncGenerator<JobEvent> {
      for await (const msg of sub) {
        if (!wanted(msg.subject, phases)) continue;
        let event: JobEvent;
        try {
          event = decodeEvent(msg);
        } catch (err) {
          if (!(err instanceof DecodeError) || !opts.onError) throw err;
          opts.onError(err, msg);
          continue;
        }
        yield event;
      }
    }
    const iterable = iterate();
    return {
      [Symbol.asyncIterator]: () => iterable,
      close: () => closeSub(sub),
      ready: () => nc.flush(),
    };
  }

  /**
   * Events as callbacks. `onEvent` errors are the caller's: they go to `onError` like decode errors do,
   * and without `onError` they are rethrown from the subscription's callback (an uncaught error).
   */
  on(
    filter: EventFilter,
    onEvent: (event: JobEvent) => void | Promise<void>,
    onError?: (err: unknown, msg: Msg) => void,
  ): EventSubscription {
    parseOrThrow(EventFilterSchema, filter);
    const phases = phaseSet(filter);
    const report = (err: unknown, msg: Msg) => {
      if (onError) onError(err, msg);
      else throw err;
    };
    const sub = this.nc.subscribe(this.subjectOf(filter), {
      callback: (err, msg) => {
        if (err || !wanted(msg.subject, phases)) return;
        let event: JobEvent;
        try {
          event = decodeEvent(msg);
        } catch (e) {
          report(e, msg);
          return;
        }
        try {
          const r = onEvent(event);
          if (r instanceof Promise) r.catch((e: unknown) => report(e, msg));
        } catch (e) {
          report(e, msg);
        }
      },
    });
    const nc = this.nc;
    return {
      [Symbol.asyncIterator]: () => {
        throw new Error("this subscription delivers to callbacks: use events.subscribe() to iterate");
      },
      close: () => closeSub(sub),
      ready: () => nc.flush(),
    };
  }
}

/** Other phases (e.g. a worker's `progress`) share the subject space: they are not asked for, so not errors. */
function wanted(subject: string, phases: Set<EventPhase>): boolean {
  return phases.has(subject.slice(subject.lastIndexOf(".") + 1) as EventPhase);
}

function phaseSet(filter: EventFilter): Set<EventPhase> {
  const p = filter.phases;
  if (p === undefined) return new Set(eventPhases);
  return new Set(typeof p === "string" ? [p] : p);
}

async function closeSub(sub: Subscription): Promise<void> {
  if (sub.isClosed()) return;
  sub.unsubscribe();
  await sub.closed.catch(() => undefined);
}

/** Decodes one event message; throws DecodeError naming what is wrong. */
export function decodeEvent(msg: Msg): JobEvent {
  const parts = msg.subject.split(".");
  // <p>.evt.<tenant>.<group>.<type>.<jobId>.<phase>
  if (parts.length !== 7) throw new DecodeError(`not an event subject: ${msg.subject}`, { field: "subject" });
  const [, , tenant, group, jobType, jobId, phase] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (!(eventPhases as readonly string[]).includes(phase)) {
    throw new DecodeError(`unknown event phase "${phase}" on ${msg.subject}`, { field: "subject" });
  }
  const h = msg.headers;
  const header = (name: string) => h?.get(name) ?? "";
  let raw: unknown;
  try {
    raw = decode(msg.data, encodingOf(h?.get(CONTENT_TYPE_HEADER) || "application/json"));
  } catch (err) {
    throw err instanceof DecodeError ? err : new DecodeError(String(err), { cause: err });
  }
  const parsed = JobEventDataSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue ? `data.${issue.path.join(".")}` : "data";
    throw new DecodeError(
      `event on ${msg.subject} has invalid data: ${field}: ${issue?.message ?? "invalid"}`,
      {
        field,
      },
    );
  }
  return {
    id: header("ce-id"),
    type: header("ce-type"),
    source: header("ce-source"),
    ceSubject: header("ce-subject"),
    time: header("ce-time"),
    phase: phase as EventPhase,
    tenant,
    // the subject carries the names' tokens (names.ts): shown as written
    group: nameOfToken(group) ?? group,
    jobType: nameOfToken(jobType) ?? jobType,
    jobId,
    subject: msg.subject,
    data: parsed.data,
  };
}
