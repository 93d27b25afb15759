/**
 * Retention of finished jobs, as BullMQ users know it (removeOnComplete / removeOnFail), and the operator's
 * defaults. A job's own setting wins; else its type's, else its tenant's, else the global default. The
 * scheduler resolves this when it accepts a job and stores the result in the definition, so a worker knows
 * at once whether a job that just finished is to be removed (`true`), and the leader's retention sweep
 * knows how long to keep the rest.
 *
 * Finished: a job that completed (a once job's success, a recurring job past its last fire) is subject to
 * removeOnComplete; one abandoned after its last try (stopped, isAbandoned) to removeOnFail. A job stopped
 * by hand is not finished: it can be started again.
 */
import { z } from "zod";
import { RetentionSchema, type JobDefinition, type Retention } from "./job.js";
import { parseOrThrow } from "./validate.js";

const PolicySchema = z.strictObject({
  removeOnComplete: RetentionSchema.optional(),
  removeOnFail: RetentionSchema.optional(),
});

/** Defaults are finite: a store never grows with history unless an operator or a job says so. */
export const DEFAULT_REMOVE_ON_COMPLETE: Retention = { ageSeconds: 86_400, count: 1_000 };
export const DEFAULT_REMOVE_ON_FAIL: Retention = { ageSeconds: 7 * 86_400, count: 5_000 };

export const RetentionConfigSchema = z.strictObject({
  removeOnComplete: RetentionSchema.default(DEFAULT_REMOVE_ON_COMPLETE),
  removeOnFail: RetentionSchema.default(DEFAULT_REMOVE_ON_FAIL),
  /** by job type */
  types: z.record(z.string(), PolicySchema).default({}),
  /** by tenant */
  tenants: z.record(z.string(), PolicySchema).default({}),
});
export type RetentionConfigInput = z.input<typeof RetentionConfigSchema>;
export type RetentionConfig = z.output<typeof RetentionConfigSchema>;

/** Checks an operator's retention settings (`field` names where they came from). */
export function parseRetentionConfig(input: unknown, field = "retention"): RetentionConfig {
  return parseOrThrow(RetentionConfigSchema, input ?? {}, field);
}

export type RetentionKind = "removeOnComplete" | "removeOnFail";

/** The setting that applies to `def` for `kind`: the job's, its type's, its tenant's or the default. */
export function retentionOf(
  def: Pick<JobDefinition, "type" | "tenantId" | RetentionKind>,
  kind: RetentionKind,
  config: RetentionConfig,
): Retention {
  return def[kind] ?? config.types[def.type]?.[kind] ?? config.tenants[def.tenantId]?.[kind] ?? config[kind];
}

/** `def` with both settings resolved (what the scheduler stores when it accepts a job). */
export function withRetention<D extends Pick<JobDefinition, "type" | "tenantId" | RetentionKind>>(
  def: D,
  config: RetentionConfig,
): D {
  return {
    ...def,
    removeOnComplete: retentionOf(def, "removeOnComplete", config),
    removeOnFail: retentionOf(def, "removeOnFail", config),
  };
}

/** Which kind of finished a stored state is, if any. */
export function finishedKind(state: { status: string; isAbandoned?: boolean }): RetentionKind | undefined {
  if (state.status === "completed") return "removeOnComplete";
  if (state.status === "stopped" && state.isAbandoned === true) return "removeOnFail";
  return undefined;
}
