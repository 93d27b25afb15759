/** One reply envelope for success and failure, on every request/reply subject. */
import { errorFromBody, toTaskjetError, type ErrorBody } from "./errors.js";

export type Reply<T> = { ok: true; data: T } | { ok: false; error: ErrorBody };

export const okReply = <T>(data: T): Reply<T> => ({ ok: true, data });

export function errorReply(err: unknown): Reply<never> {
  return { ok: false, error: toTaskjetError(err).toBody() };
}

/** Unwraps a reply: the data, or throws the typed error it carries. */
export function unwrapReply<T>(reply: unknown): T {
  if (typeof reply !== "object" || reply === null || !("ok" in reply)) {
    throw errorFromBody({
      code: "DECODE_ERROR",
      message: "reply is not a taskjet envelope",
      retryable: false,
    });
  }
  const r = reply as Reply<T>;
  if (r.ok) return r.data;
  return (() => {
    throw errorFromBody(r.error);
  })();
}
