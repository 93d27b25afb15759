/** /v1/jobs: CRUD, per-job operations, run logs, job actions; /v1/bulk/:op; /v1/job-types; /v1/status. */
import type { FastifyInstance } from "fastify";
import { parseOrThrow, ValidationError } from "@taskjet/protocol";
import type { TaskjetClient } from "@taskjet/client";
import type { JobManagement } from "../JobManagement.js";
import type { GatewayMetrics } from "../metrics.js";
import {
  ActionParamsSchema,
  BulkBodySchema,
  BulkParamsSchema,
  DeleteQuerySchema,
  IdParamsSchema,
  JobOpParamsSchema,
  ListQuerySchema,
  LogsQuerySchema,
  parseParams,
} from "./params.js";

export function jobRoutes(
  app: FastifyInstance,
  client: TaskjetClient,
  jobs: JobManagement,
  metrics: Pick<GatewayMetrics, "unknownTypeJobs">,
): void {
  const scheduler = client.scheduler;

  app.post("/v1/jobs", async (req, reply) => {
    const created = await jobs.create(req.body);
    if (created.warnings) metrics.unknownTypeJobs.inc();
    return reply.code(201).header("location", `/v1/jobs/${created.job.id}`).send(created);
  });

  app.get("/v1/jobs", async (req) => {
    return scheduler.list(parseParams(ListQuerySchema, req.query));
  });

  app.get("/v1/jobs/:id", async (req) => {
    const { id } = parseParams(IdParamsSchema, req.params);
    return { job: await scheduler.get(id) };
  });

  app.patch("/v1/jobs/:id", async (req) => {
    const { id } = parseParams(IdParamsSchema, req.params);
    return { job: await jobs.update(id, req.body) };
  });

  app.delete("/v1/jobs/:id", async (req, reply) => {
    const { id } = parseParams(IdParamsSchema, req.params);
    const { force } = parseParams(DeleteQuerySchema, req.query);
    await jobs.remove(id, force === "true");
    return reply.code(204).send();
  });

  app.post("/v1/jobs/:id/:op", async (req) => {
    const { id, op } = parseParams(JobOpParamsSchema, req.params);
    await scheduler.bulk(op, id);
    return { id, ok: true, job: await scheduler.get(id) };
  });

  app.get("/v1/jobs/:id/logs", async (req) => {
    const { id } = parseParams(IdParamsSchema, req.params);
    return scheduler.logPage(id, parseParams(LogsQuerySchema, req.query));
  });

  app.get("/v1/jobs/:id/actions", async (req) => {
    const { id } = parseParams(IdParamsSchema, req.params);
    return { actions: await jobs.actions(id) };
  });

  app.post("/v1/jobs/:id/actions", async (req, reply) => {
    const { id } = parseParams(IdParamsSchema, req.params);
    return reply.code(201).send(await jobs.addAction(id, req.body));
  });

  app.put("/v1/jobs/:id/actions/:actionId", async (req) => {
    const { id, actionId } = parseParams(ActionParamsSchema, req.params);
    return jobs.replaceAction(id, actionId, req.body);
  });

  app.delete("/v1/jobs/:id/actions/:actionId", async (req, reply) => {
    const { id, actionId } = parseParams(ActionParamsSchema, req.params);
    await jobs.removeAction(id, actionId);
    return reply.code(204).send();
  });

  app.post("/v1/bulk/:op", async (req) => {
    const { op } = parseParams(BulkParamsSchema, req.params);
    const body = parseOrThrow(BulkBodySchema, req.body ?? {});
    const target = body.ids ? body.ids : body.all ? { all: true as const } : { filter: body.filter ?? {} };
    if (op === "delete") return jobs.removeMany(target, body.force ?? false);
    if (body.force !== undefined) {
      throw new ValidationError(`force applies to delete only, not to ${op}`, { field: "force" });
    }
    return scheduler.bulk(op, target);
  });

  app.get("/v1/job-types", async () => {
    return { types: await client.cluster.types() };
  });

  app.get("/v1/status", async () => {
    const [scheduler_, consumers] = await Promise.all([scheduler.status(), client.cluster.consumers()]);
    return { scheduler: scheduler_, consumers };
  });
}
