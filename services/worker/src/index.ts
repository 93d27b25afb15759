/**
 * @taskjet/worker: the worker service. `WorkerService` wraps @taskjet/worker-runtime with the built-in
 * job types (http, sleep, console) and handler modules; `main.js` runs it from the command line.
 */
export { WorkerService, type WorkerServiceOptions } from "./WorkerService.js";
export {
  loadHandlers,
  registerMap,
  specifierOf,
  type HandlerEntry,
  type HandlerMap,
} from "./loadHandlers.js";
export { configFrom, usage, type ServiceConfig } from "./config.js";
export { registerBuiltins, builtinTypes } from "./builtins/index.js";
export { createHttpHandler, HttpArgsSchema, httpHandler, type HttpArgs } from "./builtins/http.js";
export { SleepArgsSchema, sleepHandler, type SleepArgs } from "./builtins/sleep.js";
export { ConsoleArgsSchema, consoleHandler, type ConsoleArgs } from "./builtins/console.js";
export { workerMetrics, startWorkerOps } from "./metrics.js";
