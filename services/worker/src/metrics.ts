/**
 * The worker's operations endpoint (TASKJET_METRICS_PORT): Prometheus metrics from the runtime's events,
 * `/healthz`, and `/readyz` (the worker started and its NATS connection answers).
 */
import {
  Counter,
  Histogram,
  LATENESS_BUCKETS_SECONDS,
  natsReadiness,
  readGauge,
  serviceRegistry,
  startOpsServer,
  type OpsServer,
  type Registry,
} from "@taskjet/observability";
import type { Worker } from "@taskjet/worker-runtime";

export function workerMetrics(worker: Worker): Registry {
  const registry = serviceRegistry();
  const runs = new Counter({
    name: "taskjet_worker_runs_total",
    help: "Runs finished, by job type and outcome",
    labelNames: ["type", "outcome"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "taskjet_worker_run_duration_seconds",
    help: "Handler run time, by job type",
    labelNames: ["type"],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
    registers: [registry],
  });
  const lateness = new Histogram({
    name: "taskjet_worker_start_lateness_seconds",
    help: "Handler start minus the fire's nominal time",
    buckets: [...LATENESS_BUCKETS_SECONDS],
    registers: [registry],
  });
  const retries = new Counter({
    name: "taskjet_worker_retries_total",
    help: "Failed runs that will be retried",
    labelNames: ["type"],
    registers: [registry],
  });
  const duplicates = new Counter({
    name: "taskjet_worker_duplicate_fires_total",
    help: "Fires not run because their run had finished already (a redelivery after a lost ack, or a fire stored twice)",
    labelNames: ["type"],
    registers: [registry],
  });
  const deadLetters = new Counter({
    name: "taskjet_worker_dead_letters_total",
    help: "Fires dead-lettered (abandoned jobs and poison messages)",
    labelNames: ["reason"],
    registers: [registry],
  });
  readGauge(registry, "taskjet_worker_running", "Runs in progress", () => worker.running);
  readGauge(
    registry,
    "taskjet_worker_early_fires_held",
    "Fires that came before their nominal time, prepared and held for it",
    () => worker.heldEarly,
  );
  readGauge(
    registry,
    "taskjet_worker_state_runs_pending",
    "Successful runs of frequent recurring jobs whose coalesced state write is still to be made",
    () => worker.pendingStateRuns,
  );
  const e = worker.events;
  e.on("run:start", (r) =>
    lateness.observe((Date.parse(r.startedAt) - Date.parse(r.fire.nominalTime)) / 1000),
  );
  e.on("run:success", (r) => {
    runs.inc({ type: r.fire.type, outcome: "succeeded" });
    duration.observe({ type: r.fire.type }, r.durationMs / 1000);
  });
  e.on("run:failure", (r) => {
    runs.inc({ type: r.fire.type, outcome: r.timedOut ? "timedOut" : "failed" });
    duration.observe({ type: r.fire.type }, r.durationMs / 1000);
    if (r.willRetry) retries.inc({ type: r.fire.type });
  });
  e.on("run:abandoned", () => deadLetters.inc({ reason: "abandoned" }));
  e.on("run:aborted", (r) => runs.inc({ type: r.fire.type, outcome: "aborted" }));
  e.on("run:skipped", (r) => {
    runs.inc({ type: r.fire.type, outcome: "skipped" });
    if (r.reason === "finished") duplicates.inc({ type: r.fire.type });
  });
  e.on("message:poison", () => deadLetters.inc({ reason: "poison" }));
  return registry;
}

export function startWorkerOps(worker: Worker, port: number): Promise<OpsServer> {
  let check: (() => Promise<string | undefined>) | undefined;
  return startOpsServer({
    port,
    registry: workerMetrics(worker),
    checks: {
      nats: async () => {
        let nc;
        try {
          nc = worker.connection;
        } catch {
          return "worker not started";
        }
        check ??= natsReadiness(nc) as () => Promise<string | undefined>;
        return check();
      },
    },
  });
}
