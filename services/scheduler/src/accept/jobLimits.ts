/**
 * The limits the scheduler applies where it accepts a job (queue, queueMany, update), on top of the
 * protocol's schema, because they are the operator's to set (options.ts, docs/configuration.md):
 *
 *   maxJobBytes         the definition, msgpack-encoded, is at most this long (default 64 KiB): the
 *                       store, every fire and every list page carry it, and a NATS message has a size limit
 *   minIntervalSeconds  intervalSeconds is at least this (default 1 s): a job every millisecond is a
 *                       tight loop through the scheduler, the stream and a worker
 *
 * Each breach is a ValidationError naming the field (`args`, `jobs.3.intervalSeconds`, `patch.args`).
 */
import { encode, jobTooLargeError, ValidationError, type JobDefinition } from "@taskjet/protocol";

export interface JobLimits {
  maxJobBytes: number;
  minIntervalSeconds: number;
}

const fieldOf = (name: string, root?: string) => (root ? `${root}.${name}` : name);

/** Throws when `def` breaks a limit; `checkInterval: false` leaves an interval that was accepted before. */
export function checkJobLimits(
  def: JobDefinition,
  limits: JobLimits,
  root?: string,
  opts: { checkInterval?: boolean } = {},
): void {
  if (
    (opts.checkInterval ?? true) &&
    def.intervalSeconds !== undefined &&
    def.intervalSeconds < limits.minIntervalSeconds
  ) {
    const field = fieldOf("intervalSeconds", root);
    throw new ValidationError(
      `${field}: must be at least ${limits.minIntervalSeconds} s (the scheduler's minIntervalSeconds), ` +
        `got ${def.intervalSeconds}`,
      { field },
    );
  }
  const bytes = encode(def).length;
  if (bytes > limits.maxJobBytes)
    throw jobTooLargeError(def, bytes, limits.maxJobBytes, "the scheduler", root);
}
