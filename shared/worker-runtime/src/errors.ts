/**
 * Errors a handler throws to steer what happens to a failed run (like BullMQ's UnrecoverableError and
 * DelayedError): anything else thrown is an ordinary failure, retried with backoff until maxTryCount.
 */

/** The run failed and must not be tried again: the job is abandoned at once (dead letter, status stopped). */
export class NonRetryableError extends Error {
  override name = "NonRetryableError";
  /** the offending field, when the failure is about the job's input (e.g. `args.url`) */
  readonly field: string | undefined;
  constructor(message: string, opts: { cause?: unknown; field?: string } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.field = opts.field;
  }
}

/** The run failed; try again after `retryAfterMs` instead of the exponential backoff (once jobs). */
export class RetryAfterError extends Error {
  override name = "RetryAfterError";
  constructor(
    readonly retryAfterMs: number,
    message = `retry after ${retryAfterMs} ms`,
    opts: { cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    if (!Number.isFinite(retryAfterMs) || retryAfterMs < 0) {
      throw new RangeError(
        `RetryAfterError: retryAfterMs must be a non-negative number, got ${retryAfterMs}`,
      );
    }
  }
}

/** The scheduler's interrupt reasons (on `<p>.ctl.*`), the run's own timeout, and worker shutdown. */
export const abortReasons = ["paused", "stopped", "removed", "replaced", "timeout", "shutdown"] as const;
/** Why a run's signal fired; an interrupt's reason is passed through as sent. */
export type AbortReason = (typeof abortReasons)[number] | (string & {});

/** The `reason` of a handler's aborted `ctx.signal`. */
export class RunAbortedError extends Error {
  override name = "RunAbortedError";
  constructor(readonly reason: AbortReason) {
    super(`run aborted: ${reason}`);
  }
}

/** Message of anything thrown, for state.lastError, logs and events. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === "string") return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}
