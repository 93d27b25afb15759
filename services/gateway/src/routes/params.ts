/** Zod schemas of path and query parameters (query values arrive as strings). */
import { z } from "zod";
import {
  exactlyOneSelector,
  jobStatuses,
  jobTypes,
  parseOrThrow,
  printableName,
  selectorFields,
  token,
} from "@taskjet/protocol";

export const IdParamsSchema = z.strictObject({ id: token("id", 128) });
export const ActionParamsSchema = z.strictObject({ id: token("id", 128), actionId: token("actionId") });

/** A whole number from min to max, from a query or path string; the errors name the parameter. */
export const intQuery = (what: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .min(min, `${what} must be at least ${min}`)
    .max(max, `${what} must be at most ${max}`);

export const ListQuerySchema = z.strictObject({
  status: z.enum(jobStatuses, { error: `status must be one of ${jobStatuses.join(", ")}` }).optional(),
  group: printableName("group").optional(),
  type: printableName("type").optional(),
  jobType: z.enum(jobTypes).optional(),
  node: token("node").optional(),
  name: z.string().max(200).optional(),
  limit: intQuery("limit", 1, 1000).default(100),
  offset: intQuery("offset", 0, Number.MAX_SAFE_INTEGER).default(0),
});

export const LogsQuerySchema = z.strictObject({
  limit: intQuery("limit", 1, 1000).default(50),
  offset: intQuery("offset", 0, Number.MAX_SAFE_INTEGER).default(0),
});

/**
 * `{ ids }`, `{ filter }` or `{ all: true }`, and `force` for delete. An empty filter is refused naming
 * `filter` (the control API's Selector rule, checked here first so the answer names the REST field).
 */
export const BulkBodySchema = z
  .strictObject(selectorFields)
  .superRefine(exactlyOneSelector(["ids", "filter", "all"], "every job"));
export type BulkBody = z.output<typeof BulkBodySchema>;

/** `?force=true` on DELETE /v1/jobs/:id. */
export const DeleteQuerySchema = z.strictObject({
  force: z.enum(["true", "false"], { error: "force must be true or false" }).optional(),
});

export const bulkRestOps = ["pause", "resume", "trigger", "start", "stop", "delete"] as const;
export type BulkRestOp = (typeof bulkRestOps)[number];
export const BulkParamsSchema = z.strictObject({
  op: z.enum(bulkRestOps, { error: `op must be one of ${bulkRestOps.join(", ")}` }),
});

export const JobOpParamsSchema = z.strictObject({
  id: token("id", 128),
  op: z.enum(["pause", "resume", "trigger", "start", "stop"], {
    error: "op must be one of pause, resume, trigger, start, stop",
  }),
});

export function parseParams<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  return parseOrThrow(schema, value ?? {});
}
