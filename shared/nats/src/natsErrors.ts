/**
 * What a failed NATS call means, read from nats.js' error types (never from message text): worth retrying,
 * or the server cannot be reached at all. The worker retries store writes on `isTransient`; the CLI turns
 * `isUnreachable` at start into UNAVAILABLE naming the servers.
 *
 * Where nats.js exports no type: a status a pull or a direct get answered (408, 409, 503) is its internal
 * JetStreamStatusError, a JetStreamError carrying a numeric `code`; js.publish's JetStreamNotEnabled (not
 * exported) carries the no-responders RequestError as its cause; a socket that cannot resolve or reach a
 * host is Node's own error with an errno `code`.
 */
import { JetStreamApiError, JetStreamError } from "@nats-io/jetstream";
import {
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from "@nats-io/nats-core";
import { TaskjetError } from "@taskjet/protocol";

/**
 * The JetStream API err_codes taskjet acts on (nats-server's errors.json; nats.js' JetStreamApiCodes names
 * a few of them), read from JetStreamApiError.code. Observed on 2.9.10 and 2.10.27 where noted.
 */
export const JsErrCode = {
  /** "JetStream system temporarily unavailable": no leader for the asset */
  ClusterNotAvailable: 10008,
  /** "consumer name already in use" */
  ConsumerNameExists: 10013,
  /** "consumer already exists and is still active" */
  ConsumerExistingActive: 10105,
  /** "consumer already exists" (2.10: a durable added again with other settings; 2.9 updates it instead) */
  ConsumerAlreadyExists: 10148,
  /** "stream name already in use with a different configuration" (2.9, 2.10) */
  StreamNameExists: 10058,
  /** "stream not found"; nats.js also throws it for "no stream matches subject" (2.9, 2.10) */
  StreamNotFound: 10059,
  /** "subjects overlap with an existing stream" (2.9, 2.10) */
  StreamSubjectOverlap: 10065,
  /** "wrong last sequence": a compare-and-set lost; what kv.create answers for a key that exists */
  StreamWrongLastSequence: 10071,
  /** its variant when the last sequence is unknown */
  StreamWrongLastSequenceUnknown: 10164,
} as const;

const jsCode = (err: unknown): number | undefined =>
  err instanceof JetStreamApiError ? err.code : undefined;

/** The stream (or a bucket's stream, or a stream for a subject) does not exist. */
export function isStreamNotFound(err: unknown): boolean {
  return jsCode(err) === JsErrCode.StreamNotFound;
}

/** A consumer of that name exists already (with the same or other settings). */
export function isConsumerExists(err: unknown): boolean {
  const code = jsCode(err);
  return (
    code === JsErrCode.ConsumerAlreadyExists ||
    code === JsErrCode.ConsumerNameExists ||
    code === JsErrCode.ConsumerExistingActive
  );
}

/**
 * A create that raced another process's create of the same stream or bucket: the name is in use, or on
 * 2.9 the subjects overlap (its overlap check can see the other create first).
 */
export function isCreateRace(err: unknown): boolean {
  const code = jsCode(err);
  return code === JsErrCode.StreamNameExists || code === JsErrCode.StreamSubjectOverlap;
}

/** Node's socket errors of a host that cannot be resolved or reached. */
const UNREACHABLE_ERRNO: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/** Nobody answered: nats.js' NoRespondersError, alone or as the cause of a request's RequestError. */
export function isNoResponders(err: unknown): boolean {
  return err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders());
}

/** A status error (nats.js' JetStreamStatusError, not exported): a JetStreamError with a numeric `code`. */
function isStatusError(err: Error): boolean {
  return err instanceof JetStreamError && typeof (err as { code?: unknown }).code === "number";
}

/**
 * Errors a NATS outage or a busy store causes: worth retrying (a taskjet error says so itself). Anything
 * else is a bug or bad data. Looks through `cause` (three levels).
 */
export function isTransient(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 3) return false;
  if (err instanceof TaskjetError) return err.retryable;
  if (
    err instanceof TimeoutError ||
    err instanceof NoRespondersError ||
    // a request's failure: no responders, "connection closed", "connection disconnected"
    err instanceof RequestError ||
    err instanceof ConnectionError ||
    err instanceof ClosedConnectionError ||
    err instanceof DrainingConnectionError ||
    isStatusError(err)
  ) {
    return true;
  }
  if (
    err instanceof JetStreamApiError &&
    (err.status === 503 || err.code === JsErrCode.ClusterNotAvailable)
  ) {
    return true;
  }
  return isTransient(err.cause, depth + 1);
}

/** The NATS servers cannot be reached (refused, unresolvable, timed out, closed). Looks through `cause`. */
export function isUnreachable(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 3) return false;
  if (
    err instanceof ConnectionError ||
    err instanceof TimeoutError ||
    err instanceof ClosedConnectionError ||
    err instanceof RequestError
  ) {
    return true;
  }
  const errno = (err as NodeJS.ErrnoException).code;
  if (typeof errno === "string" && UNREACHABLE_ERRNO.has(errno)) return true;
  return isUnreachable(err.cause, depth + 1);
}
