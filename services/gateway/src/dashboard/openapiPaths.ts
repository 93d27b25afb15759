/** The dashboard's routes (routes/dashboard.ts) in the OpenAPI document, merged into its `paths`. */
const errorRef = { $ref: "#/components/schemas/Error" };
const err = (description: string) => ({ description, content: { "application/json": { schema: errorRef } } });
const common = {
  "401": err("UNAUTHENTICATED: missing or wrong bearer token"),
  "503": err("UNAVAILABLE (retryable)"),
  "504": err("TIMEOUT (retryable)"),
};
const changes = { ...common, "403": err("PERMISSION_DENIED: a read-only token") };
const okJson = (description: string) => ({
  description,
  content: { "application/json": { schema: { type: "object" } } },
});
const q = (name: string, schema: Record<string, unknown>, description?: string) => ({
  name,
  in: "query",
  schema,
  ...(description ? { description } : {}),
});
const seq = { name: "seq", in: "path", required: true, schema: { type: "integer", minimum: 1 } };
const tags = ["dashboard"];

export function dashboardOpenApiPaths(): Record<string, unknown> {
  return {
    "/dashboard/": {
      get: {
        tags,
        summary: "The web dashboard (docs/dashboard.md)",
        security: [],
        responses: { "200": { description: "HTML" } },
      },
    },
    "/dashboard/config.json": {
      get: {
        tags,
        summary: "Whether the dashboard must ask for a token",
        security: [],
        responses: { "200": okJson("{ authRequired }") },
      },
    },
    "/v1/dashboard/session": {
      get: {
        tags,
        summary: "The caller's role (full or read) and tenant",
        responses: { "200": okJson("{ role, tenant }"), ...common },
      },
    },
    "/v1/dashboard/overview": {
      get: {
        tags,
        summary: "Scheduler status, consumer lag, dead-letter count and the last hour of sampled rates",
        responses: { "200": okJson("{ status, consumers, deadLetters, sampleSeconds, samples }"), ...common },
      },
    },
    "/v1/dead-letters": {
      get: {
        tags,
        summary: "The tenant's dead letters, oldest first",
        parameters: [
          q("after", { type: "integer", minimum: 0, default: 0 }, "list letters after this seq"),
          q("limit", { type: "integer", minimum: 1, maximum: 200, default: 50 }),
        ],
        responses: {
          "200": okJson("{ letters, nextAfter?, total }"),
          "400": err("INVALID_ARGUMENT"),
          ...common,
        },
      },
    },
    "/v1/dead-letters/{seq}": {
      get: {
        tags,
        summary: "One dead letter",
        parameters: [seq],
        responses: { "200": okJson("{ deadLetter }"), "404": err("NOT_FOUND"), ...common },
      },
      delete: {
        tags,
        summary: "Discard a dead letter",
        parameters: [seq],
        responses: { "204": { description: "discarded" }, "404": err("NOT_FOUND"), ...changes },
      },
    },
    "/v1/dead-letters/{seq}/requeue": {
      post: {
        tags,
        summary:
          "Run the letter's job again (start a given-up job, trigger an active one), then remove the letter",
        parameters: [seq],
        responses: {
          "200": okJson("{ seq, jobId, requeued, job }"),
          "404": err("NOT_FOUND"),
          "409": err("FAILED_PRECONDITION: the job is paused, completed or gone"),
          ...changes,
        },
      },
    },
    "/v1/events/stream": {
      get: {
        tags,
        summary: "Server-sent events: the tenant's job events (event: job, data: the event as JSON)",
        parameters: [
          q("jobId", { type: "string" }),
          q("group", { type: "string" }),
          q("type", { type: "string" }),
          q("phases", { type: "string" }, "comma-separated: before, after, progress, skipped, deadletter"),
        ],
        responses: { "200": { description: "text/event-stream" }, "400": err("INVALID_ARGUMENT"), ...common },
      },
    },
    "/v1/cron/next": {
      get: {
        tags,
        summary: "The next fire times of a cron expression, DST shifts marked",
        parameters: [
          q("cron", { type: "string" }),
          q("cronDialect", { type: "string", enum: ["quartz", "standard"], default: "quartz" }),
          q("timeZone", { type: "string", default: "UTC" }),
          q("dstRule", {
            type: "string",
            enum: ["single-value", "no-wildcard", "quartz"],
            default: "single-value",
          }),
          q("count", { type: "integer", minimum: 1, maximum: 50, default: 10 }),
        ],
        responses: {
          "200": okJson("{ times: [{ at, iso, offset, dstShift? }] }"),
          "400": err("INVALID_ARGUMENT"),
          ...common,
        },
      },
    },
  };
}

/** Adds the read-only tokens' 403 to every operation that changes something (readOnly.ts refuses them all). */
export function withPermissionDenied<T extends Record<string, unknown>>(paths: T): T {
  for (const item of Object.values(paths)) {
    for (const [method, op] of Object.entries(
      item as Record<string, { responses?: Record<string, unknown> }>,
    )) {
      if (["get", "head", "options"].includes(method) || !op.responses || op.responses["403"]) continue;
      op.responses["403"] = err("PERMISSION_DENIED: a read-only token on a route that changes something");
    }
  }
  return paths;
}
