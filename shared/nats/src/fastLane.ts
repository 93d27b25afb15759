/**
 * Publishes a fast-lane job (protocol fastJob.ts) and waits for the run stream's PubAck: the acceptance. On
 * a replicated stream the PubAck comes once a quorum stored the message, so nothing is acknowledged before
 * it is durable (promise 1). Failures are the protocol's typed errors: UNAVAILABLE when no stream answers
 * (no taskjet topology yet, or NATS down), TIMEOUT when the outcome is unknown; both safe to send again,
 * since the message id makes a second copy inside the duplicate window a no-op. A full run stream is
 * RESOURCE_EXHAUSTED (retryable), like a full job store. `resent`: this copy follows a try whose outcome is
 * unknown; it carries RESENT_HEADER, so a worker checks the store before running it (a server restart
 * forgets the message ids of jobs already run: protocol fastJob.ts).
 *
 * Sent through a RequestMux (requestMux.ts) and read by parsePubAck, not nats.js' js.publish: that one
 * builds a timer, a deferred and an Error with its stack trace for every publish, even a successful one
 * (RequestOne.cancel), 7 % of a producer's CPU at the throughput benchmark's rate (bench/RESULTS.md).
 */
import { NoRespondersError, RequestError, TimeoutError as NatsTimeout } from "@nats-io/nats-core";
import {
  CONTENT_TYPE_HEADER,
  contentTypeOf,
  Headers,
  encode,
  RESENT_HEADER,
  ResourceExhaustedError,
  TimeoutError,
  UnavailableError,
  type Encoding,
  type FastJobMessage,
} from "@taskjet/protocol";
import { encodedHeaders } from "./encodedHeaders.js";
import { parsePubAck, type PubAckReply } from "./pubAck.js";
import type { RequestMux } from "./requestMux.js";
import { isStoreFull, jsErrCode } from "./store.js";
import { traceHeaderPairs } from "./tracing.js";

/** `mux` times the publish out (its own timeout: the producer's request timeout). */
export async function publishFastJob(
  mux: RequestMux,
  m: FastJobMessage,
  encoding: Encoding,
  resent = false,
): Promise<PubAckReply> {
  const pairs: [string, string][] = [
    [CONTENT_TYPE_HEADER, contentTypeOf(encoding)],
    [Headers.MsgId, m.msgId],
  ];
  if (resent) pairs.push([RESENT_HEADER, "1"]);
  // tracing on: the run's span descends from the producer's, as a queued job's fires do from its `queue`
  for (const p of traceHeaderPairs()) pairs.push(p);
  const h = encodedHeaders(pairs);
  try {
    return parsePubAck(await mux.request(m.subject, m.encoded ?? encode(m.payload, encoding), h), m.subject);
  } catch (err) {
    if (isStoreFull(err)) {
      throw new ResourceExhaustedError(
        `the run stream has no room for ${m.subject}: retry later, or ask the operator to raise its limits`,
        { cause: err, details: { jsErrCode: jsErrCode(err) } },
      );
    }
    if (noResponders(err)) {
      throw new UnavailableError(`no run stream stores ${m.subject}: is a taskjet scheduler running?`, {
        cause: err,
      });
    }
    if (err instanceof NatsTimeout || (err as Error).cause instanceof NatsTimeout) {
      throw new TimeoutError(`the run stream did not acknowledge ${m.subject} in time`, { cause: err });
    }
    throw err;
  }
}

function noResponders(err: unknown): boolean {
  // nats.js reports a JetStream publish nobody answered (no stream on the subject) as JetStreamNotEnabled,
  // a class its public entry does not export: matched by its name, its cause by type
  if (err instanceof NoRespondersError || (err as Error | undefined)?.name === "JetStreamNotEnabled")
    return true;
  if (err instanceof RequestError && err.isNoResponders()) return true;
  const cause = (err as Error | undefined)?.cause;
  return cause instanceof NoRespondersError || (cause instanceof RequestError && cause.isNoResponders());
}
