/**
 * @taskjet/scheduler: the scheduler service (leader-elected firing of stored schedules + the control API).
 *
 *   const scheduler = new SchedulerService({ natsConfig: { servers: ["nats://127.0.0.1:4222"] } });
 *   await scheduler.start();   // ...
 *   await scheduler.stop();
 *
 * Run it as a process with `node dist/main.js` (configuration from the environment, see main.ts).
 */
export { SchedulerService, takeoverBackoffMs } from "./schedulerService.js";
export {
  TunablesSchema,
  resolveOptions,
  defaultReplicaId,
  type SchedulerOptions,
  type ResolvedSchedulerOptions,
  type Tunables,
} from "./options.js";
export { systemClock, ManualClock, type Clock, type TimerHandle } from "./plan/clock.js";
export { ServiceEvents, type ServiceEventMap, type SchedulerMetrics } from "./serviceEvents.js";
export { CURSOR_KEY, type CursorValue } from "./fire/fireCursor.js";
export type { InterruptMessage, InterruptReason } from "./fire/dispatcher.js";
export type { SkippedLogEntry } from "./fire/skipRecorder.js";
export type { Role } from "./lead/leadership.js";
export { optionsFromEnv, ENV_VARS } from "./envConfig.js";
export { schedulerMetrics, startSchedulerOps } from "./metrics.js";
