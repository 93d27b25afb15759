/**
 * Control API payloads (request/reply on `<p>.api.<tenant>.<op>`, the seed's IJobScheduler).
 * The tenant comes from the subject; a `tenantId` in a queued job must match it or be absent.
 *
 * | op        | request                                   | reply data                               |
 * |-----------|-------------------------------------------|------------------------------------------|
 * | queue     | JobInput                                  | { id, created, job, warnings? } (no-op if id exists)|
 * | queueMany | { jobs: JobInput[] } (all or nothing)     | { results: [{ id, created }], warnings? } |
 * | exists    | { id }                                    | { exists }                               |
 * | get       | { id }                                    | { job }                                  |
 * | list      | ListRequest                               | { jobs, total, nextOffset?, omitted? }   |
 * | update    | { id, patch }                             | { job }                                  |
 * | trigger, pause, resume, remove, start, stop | Selector  | { results: [{ id, ok, error? }] }       |
 * | logs      | { id, limit?, offset? }                   | { entries: RunLogEntry[], nextOffset? }  |
 *
 * A list or logs reply never exceeds the connection's max_payload: the scheduler stops adding items before
 * it would, and `nextOffset` says where the next page starts (fewer than `limit` items with a nextOffset
 * means the size cut the page). A selector's empty filter is refused: `{ all: true }` says "every job";
 * `remove` refuses a job whose schedule has not ended (not stopped or completed) unless `force: true`.
 */
import { z } from "zod";
import type { ErrorBody } from "./errors.js";
import type { RunLogEntry } from "./events.js";
import { JobPatchSchema, jobStatuses, jobTypes, token, type JobDefinition, type JobState } from "./job.js";
import { printableName } from "./names.js";

export const IdRequestSchema = z.strictObject({ id: token("id", 128) });
export type IdRequest = z.output<typeof IdRequestSchema>;

export const QueueManyRequestSchema = z.strictObject({
  jobs: z.array(z.unknown(), { error: "jobs must be an array of jobs" }).min(1).max(10_000),
});

export const ListFilterSchema = z.strictObject({
  status: z.enum(jobStatuses).optional(),
  group: printableName("group").optional(),
  type: printableName("type").optional(),
  jobType: z.enum(jobTypes).optional(),
  node: token("node").optional(),
  name: z.string().max(200).optional(),
});
export type ListFilter = z.output<typeof ListFilterSchema>;

export const ListRequestSchema = ListFilterSchema.extend({
  limit: z.number().int().min(1).max(1000).default(100),
  offset: z.number().int().min(0).default(0),
});
export type ListRequest = z.input<typeof ListRequestSchema>;

/** True when a filter names no field: it would select every job of the tenant. */
export const isEmptyFilter = (f: ListFilter): boolean => Object.values(f).every((v) => v === undefined);

/** The ways of naming jobs besides one `id` (the gateway's bulk body has exactly these), and `force`. */
export const selectorFields = {
  ids: z.array(token("id", 128)).min(1).max(10_000).optional(),
  filter: ListFilterSchema.optional(),
  all: z.literal(true, { error: "all must be true when given" }).optional(),
  force: z.boolean({ error: "force must be true or false" }).optional(),
};

/**
 * A refinement: exactly one of `keys` is given (the issue is on the first key), and a filter names a field
 * (an empty one would select `everyJob`).
 */
export function exactlyOneSelector(keys: readonly [string, ...string[]], everyJob: string) {
  const names = `${keys.slice(0, -1).join(", ")} or ${keys.at(-1)}`;
  return (s: Record<string, unknown> & { filter?: ListFilter }, ctx: z.RefinementCtx): void => {
    if (keys.filter((k) => s[k] !== undefined).length !== 1) {
      ctx.addIssue({ code: "custom", path: [keys[0]], message: `give exactly one of ${names}` });
    } else if (s.filter && isEmptyFilter(s.filter)) {
      ctx.addIssue({
        code: "custom",
        path: ["filter"],
        message: `an empty filter selects ${everyJob}: name a field, or send all: true`,
      });
    }
  };
}

/**
 * Addresses one job, many jobs, every job that matches a filter, or every job of the tenant (`all: true`):
 * exactly one of them. An empty filter is refused, so "every job" is always said out loud. `force` lets
 * `remove` delete a job whose schedule has not ended; the other operations refuse it.
 */
export const SelectorSchema = z
  .strictObject({ id: token("id", 128).optional(), ...selectorFields })
  .superRefine(exactlyOneSelector(["id", "ids", "filter", "all"], "every job of the tenant"));
export type Selector = z.input<typeof SelectorSchema>;

export const UpdateRequestSchema = z.strictObject({ id: token("id", 128), patch: JobPatchSchema });
export type UpdateRequest = z.input<typeof UpdateRequestSchema>;

export const LogsRequestSchema = z.strictObject({
  id: token("id", 128),
  limit: z.number().int().min(1).max(1000).default(50),
  /** skip this many of the newest entries (the previous page's nextOffset) */
  offset: z.number().int().min(0).default(0),
});
export type LogsRequest = z.input<typeof LogsRequestSchema>;

/** A job as the API shows it: the seed's flat JobInfo (definition + state) and the store revision. */
export type JobView = JobDefinition & JobState & { revision: number };

export interface QueueResult {
  id: string;
  created: boolean;
  job: JobView;
  /** accepted, but said about: e.g. no worker has registered the job's type yet (args unchecked) */
  warnings?: string[];
}
export interface ListResult {
  jobs: JobView[];
  total: number;
  nextOffset?: number;
  /** jobs of this page too large to fit in any reply on their own (read them with `get`, or remove them) */
  omitted?: string[];
}
export interface LogsResult {
  /** oldest first */
  entries: RunLogEntry[];
  /** present when older entries exist: ask again with this offset */
  nextOffset?: number;
}
export interface BulkResult {
  results: { id: string; ok: boolean; error?: ErrorBody }[];
}

/** Scheduler status (`<p>.sys.scheduler.status`). */
export interface SchedulerStatus {
  leader?: ReplicaInfo & { epoch: number; since: string };
  replicas: ReplicaInfo[];
  workers: WorkerInfo[];
  jobs: { total: number; active: number };
  /** fires stored on the run stream and not yet acked, per node (`_any` = any node) and job type */
  backlog: BacklogEntry[];
}
export interface BacklogEntry {
  node: string;
  type: string;
  messages: number;
}
export interface ReplicaInfo {
  replicaId: string;
  host: string;
  pid: number;
  role: "leader" | "follower" | "standby";
  startedAt: string;
}
export interface WorkerInfo {
  workerId: string;
  node: string;
  host: string;
  pid: number;
  types: string[];
  concurrency: number;
  running: number;
  seenAt: string;
}
