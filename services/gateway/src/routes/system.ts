/** Unauthenticated operational routes: /healthz, /readyz, /metrics, /openapi.json. */
import type { FastifyInstance } from "fastify";
import { toTaskjetError, UnavailableError, type TaskjetError } from "@taskjet/protocol";
import type { TaskjetClient } from "@taskjet/client";
import type { GatewayMetrics } from "../metrics.js";
import { errorBody } from "../httpErrors.js";
import { openApiDocument } from "../openapi.js";

const CHECK_TIMEOUT_MS = 2_000;

export function systemRoutes(app: FastifyInstance, client: TaskjetClient, metrics: GatewayMetrics): void {
  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (_req, reply) => {
    const checks: Record<string, { ok: boolean; error?: string }> = {};
    let firstError: TaskjetError | undefined;
    const run = async (name: string, fn: () => Promise<unknown>) => {
      try {
        await withTimeout(fn(), CHECK_TIMEOUT_MS, name);
        checks[name] = { ok: true };
      } catch (err) {
        const e = toTaskjetError(err);
        checks[name] = { ok: false, error: `${e.code}: ${e.message}` };
        firstError ??= e;
      }
    };
    await run("nats", async () => {
      if (client.nc.isClosed()) throw new UnavailableError("the NATS connection is closed");
      await client.nc.flush();
    });
    await run("store", () => client.cluster.checkStore());
    await run("scheduler", () => client.scheduler.status());
    if (firstError) {
      return reply.code(503).send({ status: "unready", checks, ...errorBody(firstError) });
    }
    return { status: "ready", checks };
  });

  app.get("/metrics", async (_req, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });

  app.get("/openapi.json", async () => openApiDocument());
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new UnavailableError(`${what} check did not answer within ${ms} ms`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}
