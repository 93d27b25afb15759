/**
 * Outgoing HTTP under a DestinationPolicy, for the `http` job and `webhook` actions (and custom action
 * kinds, through ActionContext.http). Per hop:
 *
 *   1. resolve the URL's host (every address: dns.lookup `all`), or take its address literal;
 *   2. refuse the hop unless the policy allows every address (DestinationRefusedError: non-retryable);
 *   3. connect to one of exactly those addresses: node:http with a `lookup` that answers from the checked
 *      list, so a second DNS answer (rebinding) is never consulted; TLS still verifies the host name;
 *   4. a redirect (301, 302, 303, 307, 308) is followed by hand, at most `maxRedirects` (5) times, each hop
 *      checked again; 303 (and 301/302 after POST) turn into a bodiless GET, and credentials
 *      (authorization, cookie) are dropped when the origin changes, as fetch does;
 *   5. the body (decompressed when the server sent gzip/deflate/br) is read up to `maxResponseBytes`: more
 *      fails with ResponseTooLargeError (non-retryable), or is cut off when `truncate` (webhooks, error
 *      bodies) — either way no more than the cap is held in memory.
 *
 * node:http instead of the global fetch: fetch (undici) takes no per-request lookup without undici's
 * Agent, which is not a dependency. No connection is kept alive (`agent: false`), so no socket checked
 * under one policy serves another.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { pipeline, type Readable } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import type { DestinationPolicy } from "./destinationPolicy.js";
import { errorText, NonRetryableError } from "../errors.js";

/** The policy refused a destination (the first URL or a redirect): the job's input, not a passing fault. */
export class DestinationRefusedError extends NonRetryableError {
  override name = "DestinationRefusedError";
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`http destination refused: ${url}: ${reason}`);
  }
}

/** A response body over the operator's cap (httpMaxResponseBytes). */
export class ResponseTooLargeError extends NonRetryableError {
  override name = "ResponseTooLargeError";
  constructor(
    readonly url: string,
    readonly maxBytes: number,
  ) {
    super(`response of ${url} is larger than ${maxBytes} bytes (httpMaxResponseBytes)`);
  }
}

export interface GuardedRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /** largest body read (default: the client's httpMaxResponseBytes) */
  maxResponseBytes?: number;
  /** cut the body off at the cap instead of failing (or decide by the answer's status) */
  truncate?: boolean | ((status: number) => boolean);
  /** default 5 */
  maxRedirects?: number;
}

export interface GuardedResponse {
  /** the URL that answered, after redirects */
  url: string;
  status: number;
  statusText: string;
  ok: boolean;
  headers: IncomingHttpHeaders;
  body: Buffer;
  truncated: boolean;
}

interface Address {
  address: string;
  family: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A request function bound to one policy and body cap. */
export class GuardedHttp {
  constructor(
    readonly policy: DestinationPolicy,
    readonly maxResponseBytes: number,
  ) {}

  async request(req: GuardedRequest): Promise<GuardedResponse> {
    let url = httpUrl(req.url, req.url);
    let method = (req.method ?? "GET").toUpperCase();
    const headers: Record<string, string> = { ...req.headers };
    let body = req.body;
    const maxRedirects = req.maxRedirects ?? 5;
    for (let hop = 0; ; hop++) {
      const addresses = await this.checked(url);
      const res = await send(url, method, headers, body, addresses, req.signal);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (REDIRECTS.has(status) && location) {
        res.destroy();
        if (hop >= maxRedirects) throw new Error(`${req.url}: more than ${maxRedirects} redirects`);
        const next = httpUrl(new URL(location, url).href, req.url);
        if (
          (status === 303 && method !== "HEAD") ||
          ((status === 301 || status === 302) && method === "POST")
        ) {
          method = "GET";
          body = undefined;
          drop(headers, ["content-type", "content-length"]);
        }
        if (next.origin !== url.origin) drop(headers, ["authorization", "cookie", "proxy-authorization"]);
        url = next;
        continue;
      }
      const max = req.maxResponseBytes ?? this.maxResponseBytes;
      const cut = typeof req.truncate === "function" ? req.truncate(status) : (req.truncate ?? false);
      // a HEAD answer declares the length of a body it does not send
      const read =
        method === "HEAD"
          ? (res.destroy(), { body: Buffer.alloc(0), truncated: false })
          : await readBody(res, max, cut, url.href, req.signal);
      return {
        url: url.href,
        status,
        statusText: res.statusMessage ?? "",
        ok: status >= 200 && status < 300,
        headers: res.headers,
        ...read,
      };
    }
  }

  /** Every address of the hop's host, checked; the connection may use only these. */
  private async checked(url: URL): Promise<Address[]> {
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const family = isIP(host);
    let addresses: Address[];
    if (family !== 0) {
      addresses = [{ address: host, family }];
    } else {
      try {
        addresses = await dnsLookup(host, { all: true, verbatim: true });
      } catch (err) {
        throw new Error(`${url.href}: cannot resolve ${host}: ${errorText(err)}`, { cause: err });
      }
    }
    const refusal = this.policy.refusal(
      host,
      addresses.map((a) => a.address),
    );
    if (refusal !== undefined) throw new DestinationRefusedError(url.href, refusal);
    return addresses;
  }
}

function httpUrl(href: string, original: string): URL {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    throw new NonRetryableError(`${original}: "${href}" is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new NonRetryableError(`${original}: ${url.protocol} URLs are not fetched (${href})`);
  }
  return url;
}

function drop(headers: Record<string, string>, names: string[]): void {
  for (const k of Object.keys(headers)) if (names.includes(k.toLowerCase())) delete headers[k];
}

function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  addresses: Address[],
  signal: AbortSignal | undefined,
): Promise<IncomingMessage> {
  // answers only from the checked addresses (Node asks with `all` when it races IPv4 and IPv6)
  const lookup = ((_host, opts, cb) => {
    const list = addresses.filter((a) => !opts.family || a.family === opts.family);
    if (list.length === 0) {
      const err = Object.assign(new Error(`no checked address of family ${String(opts.family)}`), {
        code: "ENOTFOUND",
      });
      cb(err, "", 4);
    } else if (opts.all) {
      (cb as unknown as (e: null, a: Address[]) => void)(null, list);
    } else {
      cb(null, list[0]!.address, list[0]!.family);
    }
  }) as LookupFunction;
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const r = request(url, { method, headers, lookup, agent: false, ...(signal ? { signal } : {}) }, resolve);
    r.on("error", (err) => reject(aborted(signal, method, url) ?? err));
    r.end(body);
  });
}

function aborted(signal: AbortSignal | undefined, method: string, url: URL): Error | undefined {
  if (!signal?.aborted) return undefined;
  return new Error(`${method} ${url.href} aborted: ${errorText(signal.reason)}`, { cause: signal.reason });
}

async function readBody(
  res: IncomingMessage,
  max: number,
  truncate: boolean,
  url: string,
  signal: AbortSignal | undefined,
): Promise<{ body: Buffer; truncated: boolean }> {
  const declared = Number(res.headers["content-length"]);
  const encoding = String(res.headers["content-encoding"] ?? "")
    .trim()
    .toLowerCase();
  if (!truncate && encoding === "" && Number.isFinite(declared) && declared > max) {
    res.destroy();
    throw new ResponseTooLargeError(url, max);
  }
  const decoder =
    encoding === "gzip" || encoding === "x-gzip"
      ? createGunzip()
      : encoding === "deflate"
        ? createInflate()
        : encoding === "br"
          ? createBrotliDecompress()
          : undefined;
  const stream: Readable = decoder ? pipeline(res, decoder, () => undefined) : res;
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  try {
    for await (const chunk of stream) {
      const c = chunk as Buffer;
      if (size + c.length > max) {
        if (!truncate) throw new ResponseTooLargeError(url, max);
        chunks.push(c.subarray(0, max - size));
        size = max;
        truncated = true;
        break;
      }
      chunks.push(c);
      size += c.length;
    }
  } catch (err) {
    if (err instanceof ResponseTooLargeError) throw err;
    throw aborted(signal, "reading", new URL(url)) ?? err;
  } finally {
    stream.destroy();
    res.destroy();
  }
  return { body: Buffer.concat(chunks, size), truncated };
}
