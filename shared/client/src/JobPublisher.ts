/**
 * The seed's IJobPublisher and IJobDispatcher: queue a job addressed to a node. The publisher sends to this
 * client's own node (`nodeName` of the client options), the dispatcher to a node the caller names; the
 * scheduler fires the job on that node's dispatch subject (`<p>.run.<tenant>.<node>.<type>.<pN>.<jobId>`).
 */
import { isDefinedJob, type ArgsOf, type DefinedJob } from "@taskjet/jobs";
import { token, parseOrThrow, type QueueResult } from "@taskjet/protocol";
import type { JobScheduler, QueueInput, QueueManyResult, QueueOptions } from "./JobScheduler.js";

export type NodeJobInput = Omit<QueueInput, "nodeName">;
/** The options of a typed publish or dispatch: the node is the call's. */
export type NodeQueueOptions = Omit<QueueOptions, "nodeName">;

export class JobDispatcher {
  constructor(private readonly scheduler: JobScheduler) {}

  /** Queues a job of a definition (args typed by it) for the workers of `node`. */
  dispatch<D extends DefinedJob>(
    node: string,
    job: D,
    args: ArgsOf<D>,
    options?: NodeQueueOptions,
  ): Promise<QueueResult>;
  /** Queues `job` for the workers of `node`. */
  dispatch(node: string, job: NodeJobInput): Promise<QueueResult>;
  async dispatch(
    node: string,
    job: NodeJobInput | DefinedJob,
    args?: Record<string, unknown>,
    options: NodeQueueOptions = {},
  ): Promise<QueueResult> {
    parseOrThrow(token("nodeName"), node, "nodeName");
    if (isDefinedJob(job)) return this.scheduler.queue(job, args ?? {}, { ...options, nodeName: node });
    return this.scheduler.queue({ ...job, nodeName: node });
  }

  async dispatchMany(node: string, jobs: readonly NodeJobInput[]): Promise<QueueManyResult> {
    parseOrThrow(token("nodeName"), node, "nodeName");
    return this.scheduler.queueMany(jobs.map((j) => ({ ...j, nodeName: node })));
  }
}

export class JobPublisher {
  private readonly dispatcher: JobDispatcher;
  constructor(
    scheduler: JobScheduler,
    /** the node this process runs on */
    readonly nodeName: string,
  ) {
    this.dispatcher = new JobDispatcher(scheduler);
  }

  /** Queues a job of a definition (args typed by it) for the workers of this client's node. */
  publish<D extends DefinedJob>(job: D, args: ArgsOf<D>, options?: NodeQueueOptions): Promise<QueueResult>;
  /** Queues `job` for the workers of this client's node. */
  publish(job: NodeJobInput): Promise<QueueResult>;
  async publish(
    job: NodeJobInput | DefinedJob,
    args?: Record<string, unknown>,
    options?: NodeQueueOptions,
  ): Promise<QueueResult> {
    if (isDefinedJob(job)) return this.dispatcher.dispatch(this.nodeName, job, args ?? {}, options);
    return this.dispatcher.dispatch(this.nodeName, job);
  }

  async publishMany(jobs: readonly NodeJobInput[]): Promise<QueueManyResult> {
    return this.dispatcher.dispatchMany(this.nodeName, jobs);
  }
}
