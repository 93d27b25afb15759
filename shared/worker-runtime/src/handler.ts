/**
 * The handler API: what a job type's code receives (HandlerContext) and how it is registered.
 * A handler returns (the run succeeds with that result) or throws (it fails: see errors.ts for the kinds).
 */
import type { Logger } from "pino";
import type { z } from "zod";
import type { FireMessage, JobEventData, StoredJob } from "@taskjet/protocol";

/** The job as the fire describes it, plus its stored record. */
export interface JobInfo {
  id: string;
  tenantId: string;
  group: string;
  name: string;
  type: string;
  jobType: FireMessage["jobType"];
  priority: FireMessage["priority"];
  nodeName: string | undefined;
  maxTryCount: number;
  timeoutSeconds: number;
  lockTimeoutSeconds: number;
  /**
   * the stored record (definition, state, revision) as read before the run, or the worker's copy of it when
   * at least as new as the fire (jobCacheSize)
   */
  record: StoredJob;
  /** reads the record again (undefined if the job was removed meanwhile) */
  read(): Promise<StoredJob | undefined>;
}

export interface HandlerContext<A = Record<string, unknown>> {
  job: JobInfo;
  /** `<tenant>.<jobId>:<nominal ms>`: the same for every attempt and redelivery of one fire (idempotency key) */
  fireId: string;
  /** the schedule's nominal time of this fire (ISO 8601) */
  nominalTime: string;
  /** the job's args, parsed by the registered argsSchema if any */
  args: A;
  /** 1 for the first try of this nominal fire, n for the scheduler's n-th retry */
  attempt: number;
  /** JetStream delivery count: 2+ when a worker died or handed the fire back */
  delivery: number;
  /** why a fire was dispatched: schedule, trigger, retry, catchUp */
  reason: FireMessage["reason"];
  /** fires on pause, remove, overlap-replace, timeout (timeoutSeconds) and worker shutdown; reason: RunAbortedError */
  signal: AbortSignal;
  /** publishes a `progress` event (and a `run:progress` worker event); not stored in the job's state */
  progress(p: number | Record<string, unknown>): void;
  /** pino child bound to jobId, type and fireId */
  logger: Logger;
}

export type JobHandler<A = Record<string, unknown>> = (ctx: HandlerContext<A>) => Promise<unknown>;

export interface RegisterOptions<S extends z.ZodType = z.ZodType> {
  /** validates and parses `args`; a mismatch fails the run for good, naming the field (`args.url`) */
  argsSchema?: S;
  description?: string;
}

export interface Registration {
  type: string;
  handler: JobHandler<unknown>;
  argsSchema: z.ZodType | undefined;
  description: string | undefined;
}

/** In-process hooks (the seed's IJobEvent): awaited before the handler / after the outcome is stored. */
export type JobHook = (event: JobEventData) => void | Promise<void>;
