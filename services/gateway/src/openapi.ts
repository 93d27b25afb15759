/**
 * The OpenAPI 3.1 document served at GET /openapi.json. Paths are written here; request schemas are
 * generated from the protocol's zod schemas, so the document cannot drift from what the gateway accepts.
 */
import { z } from "zod";
import {
  ErrorCode,
  JobActionSchema,
  JobInputSchema,
  JobPatchSchema,
  ListFilterSchema,
  jobStatuses,
} from "@taskjet/protocol";
import { BulkBodySchema, bulkRestOps } from "./routes/params.js";
import { dashboardOpenApiPaths, withPermissionDenied } from "./dashboard/openapiPaths.js";

const jsonSchema = (s: z.ZodType) => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: "input", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return rest;
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ "application/json": { schema } });
const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [String(c), { description: errorText[c] ?? "error", content: json(ref("Error")) }]),
  );
const errorText: Record<number, string> = {
  400: "INVALID_ARGUMENT or DECODE_ERROR: bad input (field names it); nothing was changed",
  401: "UNAUTHENTICATED: missing or wrong bearer token",
  403: "PERMISSION_DENIED: a read-only token on a route that changes something",
  404: "NOT_FOUND",
  409: "ALREADY_EXISTS, CONFLICT or FAILED_PRECONDITION",
  413: "INVALID_ARGUMENT (field (body)): the body is larger than the gateway's bodyLimitBytes",
  507: "RESOURCE_EXHAUSTED: the job store is full (retryable once jobs end or the store grows)",
  503: "UNAVAILABLE: no scheduler answers, or NATS is down (retryable)",
  504: "TIMEOUT: the scheduler did not answer in time (retryable)",
};
const common = [401, 503, 504];
const idParam = {
  name: "id",
  in: "path",
  required: true,
  schema: { type: "string", pattern: "^[A-Za-z0-9_-]+$" },
};
const actionIdParam = { ...idParam, name: "actionId" };
const ok = (description: string, schema?: unknown) => ({
  description,
  ...(schema ? { content: json(schema) } : {}),
});

let cached: unknown;

export function openApiDocument(): unknown {
  cached ??= build();
  return cached;
}

function build(): unknown {
  const listParams = [
    { name: "status", in: "query", schema: { type: "string", enum: [...jobStatuses] } },
    ...["group", "type", "node", "name"].map((name) => ({ name, in: "query", schema: { type: "string" } })),
    { name: "jobType", in: "query", schema: { type: "string", enum: ["once", "period", "persistent"] } },
    { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 } },
    { name: "offset", in: "query", schema: { type: "integer", minimum: 0, default: 0 } },
  ];
  const jobOp = (op: string, summary: string) => ({
    post: {
      tags: ["jobs"],
      summary,
      operationId: `${op}Job`,
      parameters: [idParam],
      responses: {
        "200": ok(`${op} done`, {
          type: "object",
          properties: { id: { type: "string" }, ok: { type: "boolean" }, job: ref("Job") },
        }),
        ...errors(400, 404, 409, ...common),
      },
    },
  });
  return {
    openapi: "3.1.0",
    info: {
      title: "taskjet REST gateway",
      version: "1",
      description:
        "Job management over the taskjet control API. Every /v1 route needs `Authorization: Bearer <token>`. " +
        "Errors have one shape: {error:{code,message,field,retryable}}.",
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        JobInput: jsonSchema(JobInputSchema),
        JobPatch: jsonSchema(JobPatchSchema),
        JobAction: jsonSchema(JobActionSchema),
        ListFilter: jsonSchema(ListFilterSchema),
        BulkRequest: jsonSchema(BulkBodySchema),
        Job: {
          type: "object",
          description:
            "JobInput fields after defaults, plus the state (status, triggerCount, tryCount, ...) and revision",
          additionalProperties: true,
          properties: { id: { type: "string" }, status: { type: "string", enum: [...jobStatuses] } },
        },
        BulkResult: {
          type: "object",
          properties: {
            results: {
              type: "array",
              items: {
                type: "object",
                properties: { id: { type: "string" }, ok: { type: "boolean" }, error: ref("ErrorDetail") },
              },
            },
          },
        },
        ErrorDetail: {
          type: "object",
          required: ["code", "message", "retryable"],
          properties: {
            code: { type: "string", enum: Object.values(ErrorCode) },
            message: { type: "string" },
            field: { type: ["string", "null"] },
            retryable: { type: "boolean" },
            details: { type: "object" },
          },
        },
        Error: { type: "object", required: ["error"], properties: { error: ref("ErrorDetail") } },
      },
    },
    security: [{ bearer: [] }],
    paths: withPermissionDenied({
      "/v1/jobs": {
        post: {
          tags: ["jobs"],
          summary: "Create a job (name + group unique within the tenant)",
          operationId: "createJob",
          requestBody: { required: true, content: json(ref("JobInput")) },
          responses: {
            "201": ok("created", {
              type: "object",
              properties: {
                job: ref("Job"),
                warnings: {
                  type: "array",
                  items: { type: "string" },
                  description: "present when no worker has registered the job's type yet (args not checked)",
                },
              },
            }),
            ...errors(400, 409, 413, 507, ...common),
          },
        },
        get: {
          tags: ["jobs"],
          summary: "List jobs with filters and paging",
          operationId: "listJobs",
          parameters: listParams,
          responses: {
            "200": ok("a page of jobs", {
              type: "object",
              properties: {
                jobs: { type: "array", items: ref("Job") },
                total: { type: "integer" },
                nextOffset: {
                  type: "integer",
                  description: "where the next page starts (pages stop before max_payload)",
                },
                omitted: {
                  type: "array",
                  items: { type: "string" },
                  description: "ids too large for any page",
                },
              },
            }),
            ...errors(400, ...common),
          },
        },
      },
      "/v1/jobs/{id}": {
        get: {
          tags: ["jobs"],
          summary: "Get a job",
          operationId: "getJob",
          parameters: [idParam],
          responses: {
            "200": ok("the job", { type: "object", properties: { job: ref("Job") } }),
            ...errors(400, 404, ...common),
          },
        },
        patch: {
          tags: ["jobs"],
          summary: "Update a job's fields (not id, tenantId, group, jobType)",
          operationId: "updateJob",
          parameters: [idParam],
          requestBody: { required: true, content: json(ref("JobPatch")) },
          responses: {
            "200": ok("the job", { type: "object", properties: { job: ref("Job") } }),
            ...errors(400, 404, 409, 413, 507, ...common),
          },
        },
        delete: {
          tags: ["jobs"],
          summary: "Delete a stopped (or completed) job; any job with force=true",
          operationId: "deleteJob",
          parameters: [idParam, { name: "force", in: "query", schema: { type: "boolean", default: false } }],
          responses: { "204": ok("deleted"), ...errors(400, 404, 409, ...common) },
        },
      },
      "/v1/jobs/{id}/pause": jobOp("pause", "Pause a job"),
      "/v1/jobs/{id}/resume": jobOp("resume", "Resume a paused job"),
      "/v1/jobs/{id}/trigger": jobOp("trigger", "Fire a job now"),
      "/v1/jobs/{id}/start": jobOp("start", "Start a stopped job"),
      "/v1/jobs/{id}/stop": jobOp("stop", "Stop a job (ends its schedule)"),
      "/v1/jobs/{id}/logs": {
        get: {
          tags: ["jobs"],
          summary: "Run log of a job",
          operationId: "jobLogs",
          parameters: [
            idParam,
            {
              name: "limit",
              in: "query",
              schema: { type: "integer", minimum: 1, maximum: 1000, default: 50 },
            },
            {
              name: "offset",
              in: "query",
              description: "skip this many of the newest entries (the previous page's nextOffset)",
              schema: { type: "integer", minimum: 0, default: 0 },
            },
          ],
          responses: {
            "200": ok("run log entries, newest last", {
              type: "object",
              properties: {
                entries: { type: "array", items: { type: "object" } },
                nextOffset: { type: "integer" },
              },
            }),
            ...errors(400, 404, ...common),
          },
        },
      },
      "/v1/jobs/{id}/actions": {
        get: {
          tags: ["actions"],
          summary: "List a job's actions",
          operationId: "listActions",
          parameters: [idParam],
          responses: {
            "200": ok("actions", {
              type: "object",
              properties: { actions: { type: "array", items: ref("JobAction") } },
            }),
            ...errors(400, 404, ...common),
          },
        },
        post: {
          tags: ["actions"],
          summary: "Add an action (id generated when absent)",
          operationId: "addAction",
          parameters: [idParam],
          requestBody: { required: true, content: json(ref("JobAction")) },
          responses: {
            "201": ok("added", { type: "object", properties: { action: ref("JobAction"), job: ref("Job") } }),
            ...errors(400, 404, 409, ...common),
          },
        },
      },
      "/v1/jobs/{id}/actions/{actionId}": {
        put: {
          tags: ["actions"],
          summary: "Replace an action",
          operationId: "replaceAction",
          parameters: [idParam, actionIdParam],
          requestBody: { required: true, content: json(ref("JobAction")) },
          responses: {
            "200": ok("replaced", {
              type: "object",
              properties: { action: ref("JobAction"), job: ref("Job") },
            }),
            ...errors(400, 404, ...common),
          },
        },
        delete: {
          tags: ["actions"],
          summary: "Delete an action",
          operationId: "deleteAction",
          parameters: [idParam, actionIdParam],
          responses: { "204": ok("deleted"), ...errors(400, 404, ...common) },
        },
      },
      "/v1/bulk/{op}": {
        post: {
          tags: ["jobs"],
          summary: "Run an operation on many jobs (ids), every job matching a filter, or all: true",
          operationId: "bulk",
          parameters: [
            { name: "op", in: "path", required: true, schema: { type: "string", enum: [...bulkRestOps] } },
          ],
          requestBody: { required: true, content: json(ref("BulkRequest")) },
          responses: { "200": ok("one result per job", ref("BulkResult")), ...errors(400, ...common) },
        },
      },
      "/v1/job-types": {
        get: {
          tags: ["types"],
          summary: "Job types the running workers registered, with their args JSON Schemas",
          operationId: "jobTypes",
          responses: {
            "200": ok("types", {
              type: "object",
              properties: { types: { type: "array", items: { type: "object" } } },
            }),
            ...errors(...common),
          },
        },
      },
      "/v1/status": {
        get: {
          tags: ["system"],
          summary: "Scheduler status (leader, replicas, workers) and run-stream consumer lag",
          operationId: "status",
          responses: { "200": ok("status", { type: "object" }), ...errors(...common) },
        },
      },
      "/healthz": {
        get: { tags: ["system"], summary: "The process is up", security: [], responses: { "200": ok("up") } },
      },
      "/readyz": {
        get: {
          tags: ["system"],
          summary: "Ready: NATS connected, job store reachable, a scheduler answers",
          security: [],
          responses: {
            "200": ok("ready"),
            "503": { description: "not ready (checks say why)", content: json(ref("Error")) },
          },
        },
      },
      "/metrics": {
        get: {
          tags: ["system"],
          summary: "Prometheus metrics",
          security: [],
          responses: { "200": ok("text exposition format") },
        },
      },
      "/openapi.json": {
        get: {
          tags: ["system"],
          summary: "This document",
          security: [],
          responses: { "200": ok("OpenAPI 3.1") },
        },
      },
      ...dashboardOpenApiPaths(),
    }),
  };
}
