/**
 * Who holds a fire: the question a worker asks the other workers before it runs a redelivered fire that the
 * store does not show finished (promise 3, issue 18).
 *
 * A fire comes back (delivery > 1) when its ack did not reach the consumer: its worker died, or the ack was
 * lost in a stream or consumer leader change, which is what a partition's heal brings (every stream the
 * returning node replicates elects again, for seconds). Only in the first case may the fire run again. In
 * the second the worker that ran it is alive, and its outcome write is waiting for the job bucket to have a
 * leader again: the store cannot tell yet, that worker can. So the worker holding a redelivered fire asks,
 * over core NATS, which works as soon as the routes are up (JetStream's elections take longer):
 *
 *   request  `<p>.ctl._held`  {"fireId", "attempt", "key"}   (JSON)
 *   reply                     {"state": "running" | "finished", "worker"}   from a worker that holds it;
 *                             the others stay silent, and after HELD_QUERY_MS the asker has its answer: nobody
 *
 * `running`: the handler still runs, or its outcome is still being written; the asker hands the fire back and
 * meets it again later, when the store shows the outcome (or, the holder having died meanwhile, nobody
 * answers and it runs). `finished`: the run is done and its outcome is the holder's to write (a coalesced
 * write pending, or a fast-lane job that leaves nothing in the store); the asker acks it as finished.
 *
 * Both sides validate with zod (protocol wireSchemas.ts, docs/schemas/held-*.json); a malformed question
 * gets no answer (it is internal: only workers may publish or subscribe to it, deploy/nats/permissions.conf).
 * It costs nothing on the hot path: only redelivered fires ask (at most HELD_QUERY_MS when nobody holds
 * them), and a worker answers from memory. Not covered: a fire held here early, waiting for its nominal
 * time (early fires are in-progress acked, so they are seldom redelivered meanwhile).
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Logger } from "pino";
import type { z } from "zod";
import { HeldAnswerSchema, HeldQuerySchema } from "@taskjet/protocol";

/** How long an asker waits for a holder's answer; within a cluster an answer takes a millisecond. */
export const HELD_QUERY_MS = 300;

export type HeldQuery = z.infer<typeof HeldQuerySchema>;
export type HeldAnswer = z.infer<typeof HeldAnswerSchema>;
export type HeldState = HeldAnswer["state"];

const te = new TextEncoder();

/** Answers the question for the fires `holds` knows; ignores what it cannot parse. */
export function serveHeld(
  nc: NatsConnection,
  subject: string,
  workerId: string,
  holds: (q: HeldQuery) => HeldState | undefined,
  logger: Logger,
): Subscription {
  return nc.subscribe(subject, {
    callback: (err, m: Msg) => {
      if (err) {
        // e.g. a user without the permission (blocks rendered before it existed): the worker runs on, but
        // neither asks nor answers (docs/operations.md)
        logger.warn({ err }, "cannot answer the held-fire question; redelivered fires go by the store alone");
        return;
      }
      let q: HeldQuery;
      try {
        q = HeldQuerySchema.parse(m.json());
      } catch (err) {
        logger.debug({ err }, "malformed held-fire question; not answered");
        return;
      }
      const state = holds(q);
      if (state !== undefined && m.reply) m.respond(te.encode(JSON.stringify({ state, worker: workerId })));
    },
  });
}

/** The answer of the worker that holds the fire; undefined when none answered within `timeoutMs`. */
export async function askHeld(
  nc: NatsConnection,
  subject: string,
  q: HeldQuery,
  timeoutMs = HELD_QUERY_MS,
): Promise<HeldAnswer | undefined> {
  try {
    const m = await nc.request(subject, te.encode(JSON.stringify(q)), { timeout: timeoutMs });
    const parsed = HeldAnswerSchema.safeParse(m.json());
    return parsed.success ? parsed.data : undefined;
  } catch {
    // a timeout (nobody holds it), no responders, or a connection that is down: nobody could say
    return undefined;
  }
}
