/**
 * Fires without a scheduler, for tests and benchmarks (moved here from @taskjet/worker-runtime, whose
 * public API is the worker's): build the FireMessage the scheduler would send
 * for a job definition, and publish it to the job's dispatch subject with the scheduler's headers.
 */
import type { JetStreamClient, PubAck } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/nats-core";
import {
  buildFire as buildProtocolFire,
  encode,
  fireMsgId,
  Headers,
  MSGPACK,
  fireSubjectOf,
  type FireMessage,
  type FireReason,
  type JobDefinition,
  type Namespace,
} from "@taskjet/protocol";

export interface BuildFireOptions {
  nominalTime?: Date | string;
  attempt?: number;
  reason?: FireReason;
  epoch?: number;
  nextNominalTime?: Date | string;
  /** default: true for a once job */
  last?: boolean;
  /** default: true when the job has a lock or an overlap policy other than allow */
  trackRunning?: boolean;
  /** the job's store revision the fire was planned from (lets a worker run it from its copy of the job) */
  revision?: number;
}

const ms = (t: Date | string) => (typeof t === "string" ? Date.parse(t) : t.getTime());

/** The fire the scheduler would send for `def` (protocol buildFire, the scheduler's own builder). */
export function buildFire(def: JobDefinition, o: BuildFireOptions = {}): FireMessage {
  return buildProtocolFire(
    def,
    {
      nominalMs: ms(o.nominalTime ?? new Date()),
      attempt: o.attempt ?? 1,
      reason: o.reason ?? "schedule",
      last: o.last ?? def.jobType === "once",
      nextNominalMs: o.nextNominalTime === undefined ? undefined : ms(o.nextNominalTime),
    },
    {
      epoch: o.epoch ?? 0,
      firedAtIso: new Date().toISOString(),
      revision: o.revision,
      ...(o.trackRunning !== undefined ? { trackRunning: o.trackRunning } : {}),
    },
  );
}

/**
 * Publishes a fire as the scheduler does: msgpack, `Nats-Msg-Id` (dedup), `Taskjet-Epoch`. `msgId` replaces
 * the message id (a test storing one fire twice, as a server that lost its duplicate window would).
 */
export function publishFire(
  js: JetStreamClient,
  ns: Namespace,
  fire: FireMessage,
  msgId = fireMsgId(fire.fireId, fire.attempt),
): Promise<PubAck> {
  const h = natsHeaders();
  h.set(Headers.ContentType, MSGPACK);
  h.set(Headers.Epoch, String(fire.epoch));
  h.set(Headers.FireId, fire.fireId);
  h.set(Headers.Nominal, fire.nominalTime);
  const subject = fireSubjectOf(ns, {
    tenantId: fire.tenantId,
    nodeName: fire.nodeName,
    type: fire.type,
    priority: fire.priority,
  });
  return js.publish(subject, encode(fire), { headers: h, msgID: msgId });
}
