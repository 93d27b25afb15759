/** Builds the fastify app: authentication, routes, metrics hooks and the one error shape. */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import { contextFromCarrier, otelContext, tracingOn } from "@taskjet/nats";
import { assertDepth, DecodeError, NotFoundError } from "@taskjet/protocol";
import type { TaskjetClient } from "@taskjet/client";
import type { GatewaySettings } from "./config.js";
import { TokenAuth } from "./auth.js";
import { fromFastifyError, sendError } from "./httpErrors.js";
import { JobManagement } from "./JobManagement.js";
import { GatewayMetrics } from "./metrics.js";
import { jobRoutes } from "./routes/jobs.js";
import { systemRoutes } from "./routes/system.js";
import { enforceRole } from "./readOnly.js";
import { dashboardRoutes, isDashboardPath } from "./routes/dashboard.js";

export interface AppOptions {
  client: TaskjetClient;
  settings: Pick<GatewaySettings, "tokens" | "bodyLimitBytes"> &
    Partial<Pick<GatewaySettings, "readOnlyTokens" | "dashboardSampleSeconds">>;
  logger?: FastifyServerOptions["logger"];
}

const OPEN_ROUTES = new Set(["/healthz", "/readyz", "/metrics", "/openapi.json"]);

export function buildApp(opts: AppOptions): FastifyInstance {
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: opts.settings.bodyLimitBytes });
  const auth = new TokenAuth(opts.settings.tokens, opts.settings.readOnlyTokens);
  const metrics = new GatewayMetrics(opts.client, (source, err) =>
    app.log.warn({ err, source }, "metrics: could not read a job-level source"),
  );
  const started = new WeakMap<object, bigint>();

  // tracing on: the request's W3C trace context (traceparent/tracestate headers) is active while it is
  // handled, so the control requests it makes carry it on to the scheduler (@taskjet/nats tracing.ts)
  app.addHook("onRequest", (req, _reply, done) => {
    if (!tracingOn()) return done();
    otelContext.with(contextFromCarrier(req.headers), done);
  });

  // an empty body is "no body" (POST /v1/jobs/x/stop from curl with a JSON content type); bad JSON is DECODE_ERROR
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === "") return done(null, undefined);
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch (err) {
      return done(
        new DecodeError(`the request body is not valid JSON: ${(err as Error).message}`, { field: "(body)" }),
        undefined,
      );
    }
    try {
      // JSON.parse copes with any depth; the encoders downstream do not (protocol limits.ts)
      assertDepth(value);
    } catch (err) {
      return done(err as Error, undefined);
    }
    done(null, value);
  });

  app.addHook("onRequest", async (req) => {
    started.set(req, process.hrtime.bigint());
    const path = req.url.split("?")[0] ?? "";
    // the dashboard's page and assets are open (it signs in with a token itself); its API calls are not
    if (!OPEN_ROUTES.has(path) && !isDashboardPath(path)) {
      enforceRole(req, auth.check(req.headers.authorization));
    }
  });

  app.addHook("onResponse", async (req, reply) => {
    const t0 = started.get(req);
    const seconds = t0 === undefined ? 0 : Number(process.hrtime.bigint() - t0) / 1e9;
    metrics.observe(req.method, req.routeOptions.url ?? "unmatched", reply.statusCode, seconds);
  });

  app.setErrorHandler((err, req, reply) => {
    const e = fromFastifyError(err as Error, opts.settings.bodyLimitBytes);
    if (e.code === "INTERNAL") req.log.error({ err }, "request failed");
    return sendError(reply, e);
  });

  app.setNotFoundHandler((req, reply) => {
    return sendError(
      reply,
      new NotFoundError(`no route ${req.method} ${req.url.split("?")[0]}: see /openapi.json`),
    );
  });

  jobRoutes(app, opts.client, new JobManagement(opts.client.scheduler), metrics);
  systemRoutes(app, opts.client, metrics);
  dashboardRoutes(app, opts.client, {
    sampleSeconds: opts.settings.dashboardSampleSeconds ?? 10,
    authRequired: auth.enabled,
  });
  return app;
}
