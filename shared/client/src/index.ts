/**
 * @taskjet/client: the SDK. Connect, then use the role objects of the client:
 *
 *   const client = await TaskjetClient.connect({ servers: ["nats://127.0.0.1:4222"], tenant: "acme" });
 *   const { id } = await client.scheduler.queue({ name: "hello", type: "console", args: { message: "hi" } });
 *   for await (const e of client.events.subscribe({ jobId: id })) console.log(e.phase, e.data.status);
 */
export { TaskjetClient, createClient, type ConnectConfig } from "./TaskjetClient.js";
export {
  ClientOptionsSchema,
  resolveClientOptions,
  defaultNodeName,
  DEFAULT_TENANT,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_ARGS_SCHEMA_CACHE_MS,
  type ClientOptions,
  type ClientOptionsInput,
} from "./options.js";
export {
  JobScheduler,
  bulkOps,
  type BulkOp,
  type QueueInput,
  type QueueManyResult,
  type QueueOptions,
} from "./JobScheduler.js";
// job types declared once for producers and workers (the same exports as @taskjet/jobs)
export {
  defineJob,
  jobInputOf,
  type ArgsOf,
  type DefinedJob,
  type JobDefaults,
  type ParsedArgsOf,
} from "@taskjet/jobs";
export { toSelector, type Target } from "./selector.js";
export { JobPublisher, JobDispatcher, type NodeJobInput, type NodeQueueOptions } from "./JobPublisher.js";
export {
  JobEvents,
  decodeEvent,
  type EventFilter,
  type JobEvent,
  type EventSubscription,
  type SubscribeOptions,
} from "./JobEvents.js";
export { ClusterInfo, type ConsumerLag, type JobTypeInfo } from "./ClusterInfo.js";
export {
  BackgroundJobManager,
  type EnqueueOptions,
  type BackgroundJobManagerOptions,
} from "./BackgroundJobManager.js";
export {
  BackgroundWorkerManager,
  backgroundWorkerId,
  type BackgroundWorker,
  type HandlerRuntime,
  type BackgroundWorkerManagerOptions,
  type AddResult,
} from "./BackgroundWorkerManager.js";
