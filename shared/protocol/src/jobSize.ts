/**
 * The size limit of a job (limits.ts DEFAULT_MAX_JOB_BYTES; the operator's `maxJobBytes`), as each edge
 * that accepts one reports it: the scheduler for the jobs it stores, the SDK and the worker for fast-lane
 * jobs (fastJob.ts).
 */
import { encode } from "./codec.js";
import { ValidationError } from "./errors.js";

/**
 * The error for a job that encodes to more than `maxJobBytes`: it names the job's biggest field (almost
 * always args: what the caller has to shrink) under `root`. `who` is the edge whose limit it is.
 */
export function jobTooLargeError(
  def: Record<string, unknown>,
  bytes: number,
  maxJobBytes: number,
  who: string,
  root?: string,
): ValidationError {
  let biggest = "args";
  let biggestBytes = -1;
  for (const [name, value] of Object.entries(def)) {
    const n = value === undefined ? 0 : encode(value).length;
    if (n > biggestBytes) [biggest, biggestBytes] = [name, n];
  }
  const field = root ? `${root}.${biggest}` : biggest;
  return new ValidationError(
    `${field}: the job encodes to ${bytes} bytes, more than the ${maxJobBytes} ${who} allows ` +
      `(maxJobBytes); ${biggest} takes ${biggestBytes} of them: keep large data elsewhere and pass a reference`,
    { field, details: { bytes, maxJobBytes } },
  );
}
