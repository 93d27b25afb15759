/**
 * A fire: one dispatch of a job, published by the leader to `<p>.run.<tenant>.<node|_any>.<pN>` (JetStream).
 *
 * Headers: `Nats-Msg-Id` = fire id + (for retries) `:a<attempt>`, so the same fire published twice inside the
 * stream's duplicate window is stored once; `Taskjet-Epoch` = the leader's lease revision; `Content-Type`.
 * The fire id is `<tenant>.<jobId>:<nominal ms>`: an idempotency key a handler can rely on.
 */
import { z } from "zod";
import { jobTypes, overlapPolicies, priorities, token } from "./job.js";

export const fireReasons = ["schedule", "trigger", "retry", "catchUp"] as const;
export type FireReason = (typeof fireReasons)[number];

export const FireMessageSchema = z.object({
  fireId: z.string().min(1),
  jobId: token("jobId", 128),
  tenantId: token("tenantId"),
  group: token("group"),
  name: z.string(),
  type: token("type"),
  jobType: z.enum(jobTypes),
  args: z.record(z.string(), z.unknown()),
  priority: z.enum(priorities),
  nodeName: token("nodeName").optional(),
  /** the schedule's nominal time of this fire (ISO 8601) */
  nominalTime: z.iso.datetime({ offset: true }),
  /** when the leader published it */
  firedAt: z.iso.datetime({ offset: true }),
  /** 1 for the first try, n for the n-th retry of the same nominal fire */
  attempt: z.number().int().positive(),
  reason: z.enum(fireReasons),
  /** the leader's lease revision */
  epoch: z.number().int().nonnegative(),
  maxTryCount: z.number().int().nonnegative(),
  timeoutSeconds: z.number().int().nonnegative(),
  lockTimeoutSeconds: z.number().int().nonnegative(),
  overlapPolicy: z.enum(overlapPolicies),
  /** the schedule's next nominal time after this one, if any (workers write it as nextRunTime) */
  nextNominalTime: z.iso.datetime({ offset: true }).optional(),
  /** true when no fire follows this one (maxCount or endTime reached, or a once job) */
  last: z.boolean(),
  /** the worker records the run in `state.running` (needed by overlap policies other than allow, and locks) */
  trackRunning: z.boolean(),
  /**
   * the job's store revision the leader planned this fire from: a worker may run the fire from its own copy
   * of the job when that copy is at least this new, instead of reading the job first (docs/worker.md)
   */
  revision: z.number().int().positive().optional(),
});
export type FireMessage = z.output<typeof FireMessageSchema>;

export function fireIdOf(tenantId: string, jobId: string, nominalMs: number): string {
  return `${tenantId}.${jobId}:${nominalMs}`;
}

/** The Nats-Msg-Id of a fire: retries of the same nominal fire are distinct messages. */
export function fireMsgId(fireId: string, attempt: number): string {
  return attempt <= 1 ? fireId : `${fireId}:a${attempt}`;
}
