/**
 * Control API payloads (request/reply on `<p>.api.<tenant>.<op>`, the seed's IJobScheduler).
 * The tenant comes from the subject; a `tenantId` in a queued job must match it or be absent.
 *
 * | op        | request                                   | reply data                               |
 * |-----------|-------------------------------------------|------------------------------------------|
 * | queue     | JobInput                                  | { id, created, job }  (no-op if id exists)|
 * | queueMany | { jobs: JobInput[] } (all or nothing)     | { results: [{ id, created }] }           |
 * | exists    | { id }                                    | { exists }                               |
 * | get       | { id }                                    | { job }                                  |
 * | list      | ListRequest                               | { jobs, total, nextOffset? }             |
 * | update    | { id, patch }                             | { job }                                  |
 * | trigger, pause, resume, remove, start, stop | Selector  | { results: [{ id, ok, error? }] }       |
 * | logs      | { id, limit? }                            | { entries: RunLogEntry[] }               |
 */
import { z } from "zod";
import type { ErrorBody } from "./errors.js";
import { JobPatchSchema, jobStatuses, jobTypes, token, type JobDefinition, type JobState } from "./job.js";

export const IdRequestSchema = z.strictObject({ id: token("id", 128) });
export type IdRequest = z.output<typeof IdRequestSchema>;

export const QueueManyRequestSchema = z.strictObject({
  jobs: z.array(z.unknown(), { error: "jobs must be an array of jobs" }).min(1).max(10_000),
});

export const ListFilterSchema = z.strictObject({
  status: z.enum(jobStatuses).optional(),
  group: token("group").optional(),
  type: token("type").optional(),
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

/** Addresses one job, many jobs, or every job that matches a filter (bulk forms). Exactly one of them. */
export const SelectorSchema = z
  .strictObject({
    id: token("id", 128).optional(),
    ids: z.array(token("id", 128)).min(1).max(10_000).optional(),
    filter: ListFilterSchema.optional(),
  })
  .refine((s) => [s.id, s.ids, s.filter].filter((x) => x !== undefined).length === 1, {
    message: "give exactly one of id, ids or filter",
    path: ["id"],
  });
export type Selector = z.input<typeof SelectorSchema>;

export const UpdateRequestSchema = z.strictObject({ id: token("id", 128), patch: JobPatchSchema });
export type UpdateRequest = z.input<typeof UpdateRequestSchema>;

export const LogsRequestSchema = z.strictObject({
  id: token("id", 128),
  limit: z.number().int().min(1).max(1000).default(50),
});
export type LogsRequest = z.input<typeof LogsRequestSchema>;

/** A job as the API shows it: the seed's flat JobInfo (definition + state) and the store revision. */
export type JobView = JobDefinition & JobState & { revision: number };

export interface QueueResult {
  id: string;
  created: boolean;
  job: JobView;
}
export interface ListResult {
  jobs: JobView[];
  total: number;
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
