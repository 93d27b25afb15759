/**
 * @taskjet/worker-runtime: embed a taskjet worker in any Node service.
 *
 *   const worker = createWorker({ node: "eu-1", concurrency: 20 });
 *   worker.register("email", async (ctx) => send(ctx.args), { argsSchema: EmailArgs });
 *   await worker.start();   // ... await worker.stop() on SIGTERM
 *
 * See docs/worker.md.
 */
// job types declared once for producers and workers (the same exports as @taskjet/jobs)
export { defineJob, type ArgsOf, type DefinedJob, type ParsedArgsOf } from "@taskjet/jobs";
export { createWorker, Worker } from "./worker.js";
export type { Interrupt } from "./intake/intake.js";
export type { WorkerOptions, ResolvedWorkerOptions } from "./options.js";
export type { HandlerContext, JobHandler, JobHook, JobInfo, RegisterOptions } from "./handler.js";
export {
  NonRetryableError,
  RetryAfterError,
  RunAbortedError,
  abortReasons,
  type AbortReason,
} from "./errors.js";
export {
  WorkerEventEmitter,
  type WorkerEvents,
  type WorkerEventName,
  type WorkerListener,
  type RunRef,
} from "./workerEvents.js";
export type { ActionFn, ActionPayload, ActionContext } from "./outcome/actions.js";
export { DestinationPolicy, parseDestinationEntries, type Verdict } from "./outcome/destinationPolicy.js";
export {
  GuardedHttp,
  DestinationRefusedError,
  ResponseTooLargeError,
  type GuardedRequest,
  type GuardedResponse,
} from "./outcome/guardedHttp.js";
export type { WorkerRunLogEntry, WorkerEventPhase } from "./telemetry/telemetry.js";
export { backoffMs, type Backoff } from "./outcome/outcome.js";
export { consumerNames } from "./intake/consumers.js";
