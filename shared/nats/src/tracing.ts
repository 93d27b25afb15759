/**
 * W3C trace context (traceparent, tracestate) across NATS, through @opentelemetry/api only: every call is a
 * no-op until the application registers an OpenTelemetry SDK (a tracer provider and a propagator), and the
 * hot paths (fires, runs) do not even parse headers then (tracingOn).
 *
 *   client request     the producer's active context goes into the request's headers (request(), rpc.ts)
 *   scheduler          answers a request inside the context its headers carry (serveRequests); `queue` makes
 *                      a span and keeps its context in the job's state (`state.trace`)
 *   fire               a span per fire: a once job's is a child of `state.trace` (a retry is one more in the
 *                      same trace), a recurring job's starts a new trace linked to it; its context travels in
 *                      the fire's headers
 *   worker             the run's span is a child of the fire's; the handler runs inside it, so its own spans
 *                      and the job's actions nest under the run
 *   fast lane          an immediate once job published straight to the run stream (fastLane.ts) carries the
 *                      producer's context in its headers: no queue or fire span, its first run is a child of
 *                      the producer's span, and the worker stores that context in `state.trace` with the
 *                      outcome (outcomeWriter.ts), so a retry's span descends from the producer's
 */
import {
  context,
  propagation,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from "@opentelemetry/api";
import type { MsgHdrs } from "@nats-io/nats-core";

export {
  SpanKind,
  SpanStatusCode,
  context as otelContext,
  trace as otelTrace,
  type Span,
  type Context as TraceContext,
};

/** A job's trace context as stored (state.trace): the W3C headers' values. */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/** True once the application registered a tracer provider (an OpenTelemetry SDK). */
export function tracingOn(): boolean {
  const p = trace.getTracerProvider();
  return !(p instanceof ProxyTracerProvider) || p.getDelegate() !== NOOP_PROVIDER;
}

export function tracer() {
  return trace.getTracer("taskjet");
}

const headerSetter: TextMapSetter<MsgHdrs> = {
  set: (h, key, value) => h.set(key, value),
};
const headerGetter: TextMapGetter<MsgHdrs | undefined> = {
  get: (h, key) => h?.get(key) || undefined,
  keys: (h) => (h ? h.keys() : []),
};

/** Puts `ctx`'s trace context (default: the active one) into NATS headers. */
export function injectTrace(h: MsgHdrs, ctx: Context = context.active()): void {
  propagation.inject(ctx, h, headerSetter);
}

/**
 * What injectTrace would put into NATS headers, as name/value pairs (for headers encoded once:
 * encodedHeaders.ts); none when no propagator is set or `ctx` has no trace.
 */
export function traceHeaderPairs(ctx: Context = context.active()): [string, string][] {
  const c: Record<string, string> = {};
  propagation.inject(ctx, c);
  return Object.entries(c);
}

/** The trace context NATS headers carry (ROOT_CONTEXT when none). */
export function extractTrace(h: MsgHdrs | undefined): Context {
  return h ? propagation.extract(ROOT_CONTEXT, h, headerGetter) : ROOT_CONTEXT;
}

/** `ctx`'s trace context as a storable value; undefined when it has none (or no propagator is set). */
export function carrierOf(ctx: Context): TraceCarrier | undefined {
  const c: Record<string, string> = {};
  propagation.inject(ctx, c);
  if (!c["traceparent"]) return undefined;
  // W3C caps tracestate at 512 characters (the job state's schema too); a longer one is dropped, not stored
  const state = c["tracestate"];
  return state && state.length <= 512
    ? { traceparent: c["traceparent"], tracestate: state }
    : { traceparent: c["traceparent"] };
}

/** The context a stored carrier stands for. */
export function contextOf(c: TraceCarrier | undefined): Context {
  return c ? propagation.extract(ROOT_CONTEXT, c) : ROOT_CONTEXT;
}

/**
 * The trace context of any carrier with W3C keys: HTTP request headers, or `{ traceparent, tracestate }` from
 * the environment (the CLI's TRACEPARENT / TRACESTATE). Within an active span's context already (an HTTP
 * instrumentation made one), that one wins.
 */
export function contextFromCarrier(carrier: Record<string, unknown>): Context {
  const active = context.active();
  if (trace.getSpan(active)) return active;
  return propagation.extract(active, carrier);
}

/** A link to a stored context (a recurring job's fire links to the job's creation). */
export function linkTo(c: TraceCarrier | undefined): Link[] {
  const sc = c ? trace.getSpanContext(contextOf(c)) : undefined;
  return sc ? [{ context: sc }] : [];
}

/** Starts a span under `parent`; the caller ends it. */
export function startSpan(
  name: string,
  parent: Context,
  attributes: Attributes,
  opts: { kind?: SpanKind; links?: Link[] } = {},
): Span {
  return tracer().startSpan(
    name,
    { kind: opts.kind ?? SpanKind.INTERNAL, attributes, links: opts.links },
    parent,
  );
}

/** Ends a span with an error status from `err`. */
export function failSpan(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/**
 * Runs `fn` with `span` active (spans it starts are children, `carrierOf(otelContext.active())` is the span's
 * context): a throw fails the span, which ends either way. A failure `fn` returns instead of throwing it marks
 * itself (failSpan).
 */
export async function inSpan<T>(span: Span, fn: () => Promise<T>): Promise<T> {
  try {
    return await context.with(trace.setSpan(context.active(), span), fn);
  } catch (err) {
    failSpan(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** The seed's job fields as span attributes (a job definition or a fire). */
export function jobAttributes(j: {
  tenantId: string;
  group: string;
  type: string;
  jobType: string;
  name?: string;
  nodeName?: string;
  id?: string;
  jobId?: string;
}): Attributes {
  const a: Attributes = {
    "taskjet.tenant": j.tenantId,
    "taskjet.job.id": j.id ?? j.jobId ?? "",
    "taskjet.job.group": j.group,
    "taskjet.job.type": j.type,
    "taskjet.job.job_type": j.jobType,
  };
  if (j.name !== undefined) a["taskjet.job.name"] = j.name;
  if (j.nodeName !== undefined) a["taskjet.node"] = j.nodeName;
  return a;
}
