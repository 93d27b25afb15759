#!/usr/bin/env node
/**
 * Runs one scheduler replica from the environment (see envConfig.ts and docs/scheduler.md):
 *
 *   NATS_URL=nats://127.0.0.1:4222 TASKJET_PREFIX=taskjet node services/scheduler/dist/main.js
 *
 * Logs JSON lines with pino (TASKJET_LOG_LEVEL, default info). SIGTERM/SIGINT stop gracefully: stop taking
 * requests and firing, let in-flight publishes be acked, write the final cursor, release the lease (a
 * follower takes over at once), close. A second signal exits at once.
 */
import { pino } from "pino";
import { logLevelFromEnv } from "@taskjet/nats";
import { errorLine, FailedPreconditionError, ValidationError } from "@taskjet/protocol";
import { optionsFromEnv } from "./envConfig.js";
import { SchedulerService } from "./schedulerService.js";
import { startSchedulerOps } from "./metrics.js";

const log = pino({ name: "taskjet-scheduler", level: logLevelFromEnv() });

async function main(): Promise<void> {
  const service = new SchedulerService({ ...optionsFromEnv(), logger: log });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, "stopping");
    service.stop().catch((err: unknown) => {
      log.error({ err }, "graceful stop failed");
      process.exit(1);
    });
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  // also when an admin `shutdown` request stopped the service from inside
  service.events.on("service:stopped", () => process.exit(0));
  await service.start();
  const metricsPort = process.env["TASKJET_METRICS_PORT"];
  if (metricsPort) {
    const ops = await startSchedulerOps(service, Number(metricsPort));
    log.info({ port: ops.port }, "metrics, healthz and readyz served");
  }
}

main().catch((err: unknown) => {
  log.fatal({ err }, "scheduler failed to start");
  if (err instanceof ValidationError || err instanceof FailedPreconditionError) {
    // bad configuration (docs/configuration.md), or one the NATS servers cannot honour (replicas on a
    // server without serializable compare-and-set): one line naming the setting, exit 2
    process.stderr.write(`${errorLine(err)}\n`);
    process.exit(2);
  }
  process.exit(1);
});
