/**
 * The seed's IJobPublisher and IJobDispatcher: queue a job addressed to a node. The publisher sends to this
 * client's own node (`nodeName` of the client options), the dispatcher to a node the caller names; the
 * scheduler fires the job on that node's dispatch subject (`<p>.run.<tenant>.<node>.<pN>`).
 */
import { token, parseOrThrow, type JobInput, type QueueResult } from "@taskjet/protocol";
import type { JobScheduler, QueueManyResult } from "./JobScheduler.js";

export type NodeJobInput = Omit<JobInput, "nodeName">;

export class JobDispatcher {
  constructor(private readonly scheduler: JobScheduler) {}

  /** Queues `job` for the workers of `node`. */
  async dispatch(node: string, job: NodeJobInput): Promise<QueueResult> {
    parseOrThrow(token("nodeName"), node, "nodeName");
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

  /** Queues `job` for the workers of this client's node. */
  async publish(job: NodeJobInput): Promise<QueueResult> {
    return this.dispatcher.dispatch(this.nodeName, job);
  }

  async publishMany(jobs: readonly NodeJobInput[]): Promise<QueueManyResult> {
    return this.dispatcher.dispatchMany(this.nodeName, jobs);
  }
}
