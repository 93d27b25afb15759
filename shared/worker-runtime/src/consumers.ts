/**
 * The worker's durable pull consumers on the run stream (work queue: filters must not overlap, and these
 * do not): per priority one for its node and one shared by every worker for the any-node subject.
 *
 *   <p>-node-<node>-p<N>   filter <p>.run.*.<node>.p<N>
 *   <p>-any-p<N>           filter <p>.run.*._any.p<N>
 *
 * Returned highest priority first, node before any-node: the order the puller sweeps them.
 */
import { AckPolicy, DeliverPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import { ANY_NODE, type Namespace } from "@taskjet/protocol";
import type { PullTarget } from "./puller.js";

export const PRIORITY_LEVELS = [5, 4, 3, 2, 1] as const;

export interface ConsumerSettings {
  ackWaitMs: number;
  maxAckPending: number;
}

export function consumerNames(ns: Namespace, node: string): (PullTarget & { filter: string })[] {
  const out: (PullTarget & { filter: string })[] = [];
  for (const p of PRIORITY_LEVELS) {
    out.push({ name: `${ns.prefix}-node-${node}-p${p}`, priority: p, filter: ns.runFilter(node, p) });
    out.push({ name: `${ns.prefix}-any-p${p}`, priority: p, filter: ns.runFilter(ANY_NODE, p) });
  }
  return out;
}

/** Creates or updates the consumers; safe from many workers at once (the last settings win). */
export async function ensureConsumers(
  jsm: JetStreamManager,
  ns: Namespace,
  node: string,
  s: ConsumerSettings,
): Promise<PullTarget[]> {
  const targets = consumerNames(ns, node);
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
        if (!/already (in use|exists)|exists/i.test(String((err as Error).message))) throw err;
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
