/**
 * The scheduler's operations endpoint (TASKJET_METRICS_PORT): Prometheus metrics from the service's events,
 * `/healthz`, and `/readyz` (the service runs and answers a status query through NATS and the store, and no
 * copy of the streams it needs is stuck behind its leader: replicaWatch.ts).
 */
import {
  Counter,
  Histogram,
  LATENESS_BUCKETS_SECONDS,
  readGauge,
  readLabelledGauge,
  serviceRegistry,
  startOpsServer,
  type OpsServer,
  type Registry,
} from "@taskjet/observability";
import { stuckReason } from "./lead/replicaWatch.js";
import type { SchedulerService } from "./schedulerService.js";

export function schedulerMetrics(service: SchedulerService): Registry {
  const registry = serviceRegistry();
  const fires = new Counter({
    name: "taskjet_scheduler_fires_total",
    help: "Fires published, by reason (schedule, trigger, retry, catchUp); duplicate=true when JetStream deduplicated it",
    labelNames: ["reason", "duplicate"],
    registers: [registry],
  });
  const lateness = new Histogram({
    name: "taskjet_scheduler_publish_lateness_seconds",
    help: "Publish ack minus the fire's nominal time",
    buckets: [...LATENESS_BUCKETS_SECONDS],
    registers: [registry],
  });
  const skipped = new Counter({
    name: "taskjet_scheduler_skipped_fires_total",
    help: "Fires recorded as skipped, by policy",
    labelNames: ["reason"],
    registers: [registry],
  });
  const failed = new Counter({
    name: "taskjet_scheduler_publish_failures_total",
    help: "Fire publishes that failed (retried)",
    registers: [registry],
  });
  const skew = new Counter({
    name: "taskjet_scheduler_clock_skew_warnings_total",
    help: "Worker clocks found off the leader's by more than maxClockSkewMs",
    registers: [registry],
  });
  const unknownType = new Counter({
    name: "taskjet_scheduler_unknown_type_jobs_total",
    help: "Jobs accepted whose type no worker had registered (args not checked at acceptance)",
    registers: [registry],
  });
  // read at scrape time: a listener registered after the election would miss the event
  readGauge(registry, "taskjet_scheduler_leader", "1 while this replica fires", () =>
    service.isLeader() ? 1 : 0,
  );
  readGauge(
    registry,
    "taskjet_scheduler_epoch",
    "Lease epoch this replica fires (or last fired) under",
    () => service.epoch,
  );
  readLabelledGauge(
    registry,
    "taskjet_run_backlog_messages",
    "Fires stored on the run stream and not yet acked, by node (_any = any node) and job type",
    ["node", "type"],
    async () =>
      (await service.backlog().catch(() => [])).map(
        (b) => [{ node: b.node, type: b.type }, b.messages] as const,
      ),
  );
  readLabelledGauge(
    registry,
    "taskjet_stream_replica_lag",
    "Operations a copy of the run stream, job bucket or lease bucket is behind its leader (replicated streams)",
    ["stream", "peer"],
    () => service.replicaHealth().map((r) => [{ stream: r.stream, peer: r.peer }, r.lag] as const),
  );
  readLabelledGauge(
    registry,
    "taskjet_stream_replica_stuck",
    "1 while a stream copy has been behind its leader for replicaStuckMs without catching up, or offline",
    ["stream", "peer"],
    () => service.replicaHealth().map((r) => [{ stream: r.stream, peer: r.peer }, r.stuck ? 1 : 0] as const),
  );
  const e = service.events;
  e.on("fire:published", (f) => {
    fires.inc({ reason: f.reason, duplicate: String(f.duplicate) });
    lateness.observe(Math.max(0, Date.now() - f.nominalMs) / 1000);
  });
  e.on("fire:skipped", (s) => skipped.inc({ reason: s.reason }, s.count));
  e.on("fire:failed", () => failed.inc());
  e.on("clock:skew", () => skew.inc());
  e.on("job:unknownType", () => unknownType.inc());
  return registry;
}

export function startSchedulerOps(
  service: SchedulerService,
  port: number,
  timeoutMs = 2_000,
): Promise<OpsServer> {
  return startOpsServer({
    port,
    registry: schedulerMetrics(service),
    checks: {
      store: async () => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<string>(
          (r) => (timer = setTimeout(() => r(`no answer within ${timeoutMs} ms`), timeoutMs)),
        );
        try {
          return await Promise.race([service.status().then(() => undefined), late]);
        } catch (err) {
          return (err as Error).message;
        } finally {
          clearTimeout(timer);
        }
      },
      // a stream copy stuck behind its leader (replicaWatch.ts): said here so an operator is told
      replicas: () => stuckReason(service.replicaHealth().filter((r) => r.stuck)),
    },
  });
}
