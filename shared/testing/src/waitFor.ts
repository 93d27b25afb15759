/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long. Default 10 000 ms. */
  timeoutMs?: number;
  /** Pause between attempts. Default 25 ms. */
  intervalMs?: number;
  /**
   * What was being waited for; starts the timeout error's message. A function is called only on the
   * deadline, so the message can describe the last state seen.
   */
  message?: string | (() => string);
}

/** `T` without its falsy members, so `waitFor(() => ready && info)` resolves to the info's type. */
export type Truthy<T> = Exclude<T, false | 0 | 0n | "" | null | undefined>;

/**
 * Poll `fn` until it returns a truthy value and resolve with that value. A throw or rejection
 * counts as "not yet". On the deadline, rejects with an Error whose message starts with
 * `opts.message` and whose `cause` is the last error `fn` threw (if any).
 *
 * Each attempt is itself bounded by the remaining time, so a hanging `fn` cannot block past the
 * deadline. Use this instead of sleeps in tests.
 *
 * @example
 * const info = await waitFor(() => jsm.streams.info(name).catch(() => null), { message: "stream" });
 */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<Truthy<T>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 25;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let attempts = 0;
  for (;;) {
    attempts++;
    const remaining = deadline - Date.now();
    try {
      const value = await withDeadline(Promise.resolve().then(fn), Math.max(remaining, 1), HUNG);
      if (value) return value as Truthy<T>;
    } catch (err) {
      // Keep the more informative earlier error if only the final attempt hung.
      const hung = err instanceof Error && err.message.startsWith(HUNG);
      if (!hung || lastError === undefined) lastError = err;
    }
    if (Date.now() + intervalMs > deadline) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const label =
    (typeof opts.message === "function" ? opts.message() : opts.message) ?? "waitFor: condition not met";
  const why = lastError === undefined ? "" : `; last error: ${errorMessage(lastError)}`;
  throw new Error(`${label} (timed out after ${timeoutMs} ms, ${attempts} attempts${why})`, {
    cause: lastError,
  });
}

/**
 * Resolve or reject like `p`, unless `ms` pass first: then reject with an Error whose message is
 * `message` plus the timeout. `p` itself is not cancelled.
 */
export function withDeadline<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} (timed out after ${ms} ms)`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const HUNG = "waitFor: attempt did not settle";

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
