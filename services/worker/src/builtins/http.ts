/**
 * `http` (the seed's HttpRequestJob): one HTTP request. A non-2xx answer fails the run (a 429/503 with
 * Retry-After retries after that delay); the response body is the result, parsed when it is JSON.
 */
import { z } from "zod";
import { RetryAfterError, type HandlerContext } from "@taskjet/worker-runtime";

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

export async function httpHandler(ctx: HandlerContext<HttpArgs>): Promise<unknown> {
  const a = ctx.args;
  const headers: Record<string, string> = { ...(a.headers ?? {}) };
  let body: string | undefined;
  if (a.data !== undefined && a.method !== "GET" && a.method !== "HEAD") {
    body = typeof a.data === "string" ? a.data : JSON.stringify(a.data);
    const type = a.contentType ?? (typeof a.data === "string" ? "text/plain" : "application/json");
    if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) headers["content-type"] = type;
  }
  const res = await fetch(a.url, {
    method: a.method,
    headers,
    ...(body !== undefined ? { body } : {}),
    signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(a.timeoutMs)]),
  });
  const text = await res.text();
  if (!res.ok) {
    const detail = `${a.method} ${a.url} answered ${res.status} ${res.statusText}: ${text.slice(0, MAX_ERROR_BODY)}`;
    const retryAfterMs = retryAfter(res);
    if ((res.status === 429 || res.status === 503) && retryAfterMs !== undefined) {
      throw new RetryAfterError(retryAfterMs, detail);
    }
    throw new Error(detail);
  }
  ctx.logger.debug({ status: res.status, url: a.url }, "http job done");
  const type = res.headers.get("content-type") ?? "";
  if (/[/+]json\b/i.test(type) && text.length > 0) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

function retryAfter(res: Response): number | undefined {
  const h = res.headers.get("retry-after");
  if (!h) return undefined;
  const seconds = Number(h);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(h);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
