/**
 * `http` (the seed's HttpRequestJob): one HTTP request. A non-2xx answer fails the run (a 429/503 with
 * Retry-After retries after that delay); the response body is the result, parsed when it is JSON.
 *
 * The URL is a tenant's, fetched from inside the operator's network: the request goes through the worker's
 * GuardedHttp (docs/worker.md, "Outgoing HTTP"), so a loopback, link-local or private destination — also
 * one reached by a redirect — abandons the job (non-retryable, naming the url and why) unless the operator
 * allowed it, and a body over httpMaxResponseBytes (64 KiB) fails the run the same way instead of being
 * stored in the job.
 */
import { z } from "zod";
import {
  DestinationPolicy,
  GuardedHttp,
  RetryAfterError,
  type GuardedResponse,
  type HandlerContext,
  type JobHandler,
} from "@taskjet/worker-runtime";

export const HttpArgsSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: "url must be an http(s) URL" }),
  method: z
    .string()
    .transform((m) => m.toUpperCase())
    .pipe(z.enum(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]))
    .default("GET"),
  headers: z.record(z.string(), z.string()).optional(),
  /** the request body: a string as is, anything else as JSON */
  data: z.unknown().optional(),
  /** Content-Type of `data` (default application/json for non-strings, text/plain for strings) */
  contentType: z.string().optional(),
  /** request timeout (default 30 s; the run's own timeout and abort apply too) */
  timeoutMs: z.number().int().positive().max(3_600_000).default(30_000),
});
export type HttpArgs = z.output<typeof HttpArgsSchema>;

const MAX_ERROR_BODY = 500;

/** The `http` handler, sending through `http` (a worker's: `createHttpHandler(worker.http)`). */
export function createHttpHandler(http: GuardedHttp): JobHandler<HttpArgs> {
  return async (ctx: HandlerContext<HttpArgs>): Promise<unknown> => {
    const a = ctx.args;
    const headers: Record<string, string> = { ...(a.headers ?? {}) };
    let body: string | undefined;
    if (a.data !== undefined && a.method !== "GET" && a.method !== "HEAD") {
      body = typeof a.data === "string" ? a.data : JSON.stringify(a.data);
      const type = a.contentType ?? (typeof a.data === "string" ? "text/plain" : "application/json");
      if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type"))
        headers["content-type"] = type;
    }
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(a.timeoutMs)]);
    // an error answer's body only feeds the message: cut it off instead of failing on its size
    const res = await http.request({
      url: a.url,
      method: a.method,
      headers,
      signal,
      truncate: (status) => status < 200 || status >= 300,
      ...(body !== undefined ? { body } : {}),
    });
    const text = res.body.toString("utf8");
    if (!res.ok) {
      const detail = `${a.method} ${a.url} answered ${res.status} ${res.statusText}: ${text.slice(0, MAX_ERROR_BODY)}`;
      const retryAfterMs = retryAfter(res);
      if ((res.status === 429 || res.status === 503) && retryAfterMs !== undefined) {
        throw new RetryAfterError(retryAfterMs, detail);
      }
      throw new Error(detail);
    }
    ctx.logger.debug({ status: res.status, url: a.url }, "http job done");
    const type = String(res.headers["content-type"] ?? "");
    if (/[/+]json\b/i.test(type) && text.length > 0) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    }
    return text;
  };
}

/** The handler under the default policy (built-in ranges refused, 64 KiB): for use outside a worker. */
export const httpHandler = createHttpHandler(new GuardedHttp(new DestinationPolicy(), 64 * 1024));

function retryAfter(res: GuardedResponse): number | undefined {
  const h = res.headers["retry-after"];
  if (!h) return undefined;
  const seconds = Number(h);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(h);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
