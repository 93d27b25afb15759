/**
 * What an API caller is told when JetStream could not answer a store request: a retryable error, not
 * INTERNAL. While a replicated stream has no leader (an election, the heal of a network partition: measured
 * 6-7 s of them on nats-server 2.10, chaos/partition.mjs) its requests find no responders or are refused as
 * temporarily unavailable (UNAVAILABLE); a request that timed out may or may not have been applied
 * (TIMEOUT). Either way an operation of several steps may have made its first ones (a queued once job
 * stored, its fire not yet published: the leader publishes it later), so the answer says to send the same
 * request again: both codes are what @taskjet/client retries by itself (queueRetries) with the same job
 * id, which is idempotent (a job that exists is left as it is). Before this, the partition suite saw 235-322
 * queue requests a run answered INTERNAL, which nobody retries.
 */
import { JetStreamError } from "@nats-io/jetstream";
import { TimeoutError as NatsTimeoutError } from "@nats-io/nats-core";
import { isNoResponders, jsErrCode, JsErrCode } from "@taskjet/nats";
import { TaskjetError, TimeoutError, UnavailableError } from "@taskjet/protocol";

/** `err` as the typed error to answer with: a store outage becomes UNAVAILABLE or TIMEOUT; others as they are. */
export function asStoreOutage(err: unknown): unknown {
  if (err instanceof TaskjetError) return err;
  const kind = outageKind(err, 0);
  if (kind === "unavailable")
    return new UnavailableError(
      "JetStream has no leader for the job store or the run stream right now (an election, a network " +
        "partition): the request may have been applied in part; send it again with the same id (a job that " +
        "exists is left as it is)",
      { cause: err },
    );
  if (kind === "timeout")
    return new TimeoutError(
      "the job store did not answer in time: the request may or may not have been applied; send it again " +
        "with the same id (a job that exists is left as it is)",
      { cause: err },
    );
  return err;
}

function outageKind(err: unknown, depth: number): "unavailable" | "timeout" | undefined {
  if (!(err instanceof Error) || depth > 3) return undefined;
  if (isNoResponders(err)) return "unavailable";
  // a pull (fetch, consumer info) answered with status 503: no leader for the stream (the run log)
  if (err instanceof JetStreamError && (err as JetStreamError & { code?: unknown }).code === 503)
    return "unavailable";
  if (jsErrCode(err) === JsErrCode.ClusterNotAvailable) return "unavailable";
  if (err instanceof NatsTimeoutError) return "timeout";
  return outageKind(err.cause, depth + 1);
}
