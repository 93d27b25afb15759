/**
 * Starting the services from their packages. Loaded lazily, so management commands do not pay for them.
 * commands/serve.ts runs them until SIGINT/SIGTERM.
 */
import { isTaskjetError, UnavailableError, ValidationError } from "@taskjet/protocol";
import { isUnreachable, logLevelFromEnv, type NatsConfig } from "@taskjet/nats";
import { pino, type Logger } from "pino";

export interface Service {
  name?: string;
  start(): Promise<unknown>;
  stop(): Promise<unknown>;
  /** resolves when the service stopped by itself (e.g. the scheduler's admin `shutdown`) */
  stopped?: Promise<void>;
}

/** The log level of the services the CLI runs: TASKJET_LOG_LEVEL, else `fallback` (logLevelFromEnv). */
export function logLevel(env: NodeJS.ProcessEnv, fallback = "info"): string {
  return logLevelFromEnv(env, fallback);
}

/** Service logs go to stderr (stdout is the CLI's output). */
export function serviceLogger(env: NodeJS.ProcessEnv, fallback = "info"): Logger {
  return pino({ level: logLevel(env, fallback) }, pino.destination(2));
}

/** A scheduler with its tunables from the environment (TASKJET_LEASE_TTL_MS, ...) and flags on top. */
export async function createScheduler(
  nats: NatsConfig,
  logger: Logger,
  env: NodeJS.ProcessEnv,
  flags: { replicaId?: string; standby?: boolean } = {},
): Promise<Service> {
  const { SchedulerService, optionsFromEnv } = await import("@taskjet/scheduler");
  const service = new SchedulerService({
    ...optionsFromEnv(env),
    natsConfig: nats,
    prefix: nats.prefix,
    logger,
    ...flags,
  });
  const stopped = new Promise<void>((r) => service.events.on("service:stopped", () => r()));
  return {
    name: "scheduler",
    start: () => startOrExplain(nats, service),
    stop: () => service.stop(),
    stopped,
  };
}

/**
 * A worker with the built-in types and handler modules; settings from the environment (TASKJET_NODE,
 * TASKJET_HANDLERS, TASKJET_CONCURRENCY, TASKJET_ACK_WAIT_MS, ...) with the flags on top.
 */
export async function createWorkerService(
  nats: NatsConfig,
  env: NodeJS.ProcessEnv,
  opts: {
    node?: string;
    concurrency?: number;
    handlerModules: string[];
    logger: Logger;
    /** destinations allowed on top of TASKJET_HTTP_ALLOW (`taskjet dev`: loopback) */
    httpAllow?: string[];
  },
): Promise<Service & { node: string }> {
  const { WorkerService, configFrom } = await import("@taskjet/worker");
  const { help: _help, handlerModules: fromEnv, ...fromEnvOptions } = configFrom([], env);
  const node = opts.node ?? fromEnvOptions.node;
  if (node === undefined) {
    throw new ValidationError("name the node this worker serves: --node <name> (or TASKJET_NODE)", {
      field: "node",
    });
  }
  const service = new WorkerService({
    ...fromEnvOptions,
    nats,
    node,
    logger: opts.logger,
    handlerModules: [...(fromEnv ?? []), ...opts.handlerModules],
    ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
    ...(opts.httpAllow ? { httpAllow: [...(fromEnvOptions.httpAllow ?? []), ...opts.httpAllow] } : {}),
  });
  return { name: "worker", start: () => startOrExplain(nats, service), stop: () => service.stop(), node };
}

/** A service that cannot reach NATS fails with UNAVAILABLE naming the servers, not with a bare socket error. */
async function startOrExplain(nats: NatsConfig, service: { start(): Promise<unknown> }): Promise<unknown> {
  try {
    return await service.start();
  } catch (err) {
    if (isTaskjetError(err)) throw err;
    if (isUnreachable(err)) {
      const message = (err as Error).message;
      throw new UnavailableError(`cannot reach NATS at ${nats.servers.join(",")}: ${message}`, {
        cause: err,
        field: "server",
      });
    }
    throw err;
  }
}
