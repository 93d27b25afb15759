/**
 * The worker's durable pull consumers on the run stream: for every job type it has a handler for and every
 * priority, one for its node and one shared by every worker of that type on the any-node subject
 * (Namespace.runConsumer):
 *
 *   <p>-node<len>-<node>-<type>-p<N>   filter <p>.run.*.<node>.<type>.p<N>.*
 *   <p>-any-<type>-p<N>                filter <p>.run.*._any.<type>.p<N>.*   (the last token: the job id)
 *
 * So a worker is never handed a fire it has no handler for, and services with different handler sets share
 * nothing. A work-queue stream forbids consumers with overlapping filters, which rules out one multi-filter
 * consumer per worker (NATS 2.10+) whenever two services' type sets overlap: per-type consumers work on 2.9
 * and everywhere. A worker with T types creates 10 x T consumers (5 priorities, node and any-node).
 *
 * Returned highest priority first; within a priority node before any-node, types in the order given: the
 * order the puller sweeps them.
 */
import { AckPolicy, DeliverPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import { isConsumerExists } from "@taskjet/nats";
import { FailedPreconditionError, type Namespace } from "@taskjet/protocol";
import type { PullTarget } from "./puller.js";

export const PRIORITY_LEVELS = [5, 4, 3, 2, 1] as const;

export interface ConsumerSettings {
  ackWaitMs: number;
  maxAckPending: number;
}

export type ConsumerTarget = PullTarget & { filter: string; type: string };

export function consumerNames(ns: Namespace, node: string, types: readonly string[]): ConsumerTarget[] {
  const out: ConsumerTarget[] = [];
  for (const p of PRIORITY_LEVELS) {
    for (const where of [node, undefined]) {
      for (const type of types) out.push({ ...ns.runConsumer(where, type, p), priority: p, type });
    }
  }
  return out;
}

/**
 * Creates or updates the consumers of `types`; safe from many workers at once (the last settings win). A
 * consumer of that name with another filter (made by hand, or an older layout) is an error, not reused.
 */
export async function ensureConsumers(
  jsm: JetStreamManager,
  ns: Namespace,
  node: string,
  types: readonly string[],
  s: ConsumerSettings,
): Promise<PullTarget[]> {
  const targets = consumerNames(ns, node, types);
  await Promise.all(
    targets.map(async (t) => {
      const config = {
        durable_name: t.name,
        filter_subject: t.filter,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(s.ackWaitMs),
        max_deliver: -1,
        max_ack_pending: s.maxAckPending,
      };
      try {
        await jsm.consumers.add(ns.streams.run, config);
      } catch (err) {
        // exists with other settings (another worker's ackWaitMs): update what may change
        if (!isConsumerExists(err)) throw err;
        const info = await jsm.consumers.info(ns.streams.run, t.name);
        if (info.config.filter_subject !== t.filter) {
          throw new FailedPreconditionError(
            `consumer ${t.name} exists with filter ${info.config.filter_subject ?? "(none)"}, not ${t.filter}: ` +
              `remove it (nats consumer rm ${ns.streams.run} ${t.name}) and start the worker again`,
            { field: "consumer", details: { consumer: t.name, filter: info.config.filter_subject } },
          );
        }
        await jsm.consumers.update(ns.streams.run, t.name, {
          ack_wait: config.ack_wait,
          max_ack_pending: config.max_ack_pending,
          max_deliver: -1,
        });
      }
    }),
  );
  return targets.map(({ name, priority }) => ({ name, priority }));
}
