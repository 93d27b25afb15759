#!/usr/bin/env node
/**
 * `node services/worker/dist/main.js --node <name> [--handlers m.js]... [--concurrency N]`
 * Starts a WorkerService; SIGTERM/SIGINT stop it gracefully (a second signal exits at once).
 */
import { pino } from "pino";
import { errorLine, toTaskjetError, ValidationError } from "@taskjet/protocol";
import { configFrom, usage } from "./config.js";
import { WorkerService } from "./WorkerService.js";
import { startWorkerOps } from "./metrics.js";
import { logLevelFromEnv } from "@taskjet/nats";

async function main(): Promise<void> {
  const logger = pino({ name: "taskjet-worker", level: logLevelFromEnv() });
  let config;
  try {
    config = configFrom(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${errorLine(toTaskjetError(err))}\n`);
    process.exit(2);
  }
  if (config.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const { help: _help, ...options } = config;
  let service: WorkerService;
  try {
    service = new WorkerService({ ...options, logger });
  } catch (err) {
    // a value the worker's options refuse (a negative size, say): bad configuration, as above
    if (!(err instanceof ValidationError)) throw err;
    process.stderr.write(`${errorLine(err)}\n`);
    process.exit(2);
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    logger.info({ signal }, "stopping gracefully");
    service.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "stop failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    await service.start();
  } catch (err) {
    logger.error({ err }, "worker failed to start");
    process.exit(1);
  }
  const metricsPort = process.env["TASKJET_METRICS_PORT"];
  if (metricsPort) {
    const ops = await startWorkerOps(service.worker, Number(metricsPort));
    logger.info({ port: ops.port }, "metrics, healthz and readyz served");
  }
  logger.info(
    { workerId: service.worker.workerId, node: service.worker.node, types: service.worker.types },
    "ready",
  );
}

void main();
