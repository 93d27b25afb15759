/**
 * Prometheus metrics on a registry of the gateway's own (several gateways may share a process in tests):
 * request counts and latencies by route, and job-level gauges collected at scrape time from the scheduler's
 * status, the job store (counts by status) and the run stream's consumers (lag).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { jobStatuses, type SchedulerStatus } from "@taskjet/protocol";
import type { ConsumerLag, TaskjetClient } from "@taskjet/client";

interface Snapshot {
  byStatus?: Map<string, number>;
  status?: SchedulerStatus;
  consumers?: ConsumerLag[];
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<"method" | "route" | "status">;
  readonly duration: Histogram<"method" | "route" | "status">;
  /** jobs created with a warning: no worker had registered the type (or the registry was unreadable) */
  readonly unknownTypeJobs: Counter;
  private readonly collectErrors: Counter<"source">;
  private snapshotPromise: Promise<Snapshot> | undefined;
  private snapshotAt = 0;

  constructor(
    private readonly client: TaskjetClient,
    private readonly onCollectError: (source: string, err: unknown) => void,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "taskjet_gateway_" });
    this.requests = new Counter({
      name: "taskjet_gateway_http_requests_total",
      help: "HTTP requests answered by the gateway",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.duration = new Histogram({
      name: "taskjet_gateway_http_request_duration_seconds",
      help: "HTTP request latency",
      labelNames: ["method", "route", "status"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.unknownTypeJobs = new Counter({
      name: "taskjet_gateway_jobs_accepted_unchecked_total",
      help: "Jobs created with a warning, args not checked: no worker had registered the type yet (or the registry was unreadable)",
      registers,
    });
    this.collectErrors = new Counter({
      name: "taskjet_gateway_metrics_collect_errors_total",
      help: "Scrapes in which a job-level source could not be read (its gauges are left out)",
      labelNames: ["source"],
      registers,
    });
    const snapshot = () => this.snapshot();
    /** A gauge set at scrape time from the shared snapshot (reset first: a label that went away is dropped). */
    const gauge = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      fill: (g: Gauge<L>, s: Snapshot) => void,
    ) =>
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        async collect() {
          const s = await snapshot();
          this.reset();
          fill(this, s);
        },
      });
    gauge("taskjet_jobs", "Jobs in the store by status (this gateway's tenant)", ["status"], (g, s) => {
      for (const [status, n] of s.byStatus ?? []) g.set({ status }, n);
    });
    gauge("taskjet_scheduler_leader", "1 when a scheduler replica holds the lease", [], (g, s) => {
      if (s.status) g.set(s.status.leader ? 1 : 0);
    });
    gauge(
      "taskjet_scheduler_epoch",
      "The leader's epoch (lease revision); a change means a leader change",
      [],
      (g, s) => {
        if (s.status?.leader) g.set(s.status.leader.epoch);
      },
    );
    gauge("taskjet_scheduler_replicas", "Scheduler replicas sending heartbeats", [], (g, s) => {
      if (s.status) g.set(s.status.replicas.length);
    });
    gauge("taskjet_workers", "Workers sending heartbeats, by node", ["node"], (g, s) => {
      const byNode = new Map<string, number>();
      for (const w of s.status?.workers ?? []) byNode.set(w.node, (byNode.get(w.node) ?? 0) + 1);
      for (const [node, n] of byNode) g.set({ node }, n);
    });
    gauge(
      "taskjet_run_backlog_messages",
      "Fires stored on the run stream and not yet acked, by node (_any = any node) and job type",
      ["node", "type"],
      (g, s) => {
        for (const b of s.status?.backlog ?? []) g.set({ node: b.node, type: b.type }, b.messages);
      },
    );
    const consumerGauge = (name: string, help: string, value: (c: ConsumerLag) => number) =>
      gauge(name, help, ["consumer"], (g, s) => {
        for (const c of s.consumers ?? []) g.set({ consumer: c.name }, value(c));
      });
    consumerGauge(
      "taskjet_consumer_pending",
      "Fires in the run stream not yet delivered, by consumer",
      (c) => c.pending,
    );
    consumerGauge(
      "taskjet_consumer_ack_pending",
      "Fires delivered and not yet acknowledged (runs in progress), by consumer",
      (c) => c.ackPending,
    );
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** One read of every source per scrape: the gauges share it (cached for a second). */
  private snapshot(): Promise<Snapshot> {
    if (this.snapshotPromise && Date.now() - this.snapshotAt < 1000) return this.snapshotPromise;
    this.snapshotAt = Date.now();
    this.snapshotPromise = this.read();
    return this.snapshotPromise;
  }

  private async read(): Promise<Snapshot> {
    const s: Snapshot = {};
    const scheduler = this.client.scheduler;
    await Promise.all([
      (async () => {
        const counts = await Promise.all(
          jobStatuses.map(
            async (status) => [status, (await scheduler.list({ status, limit: 1 })).total] as const,
          ),
        );
        s.byStatus = new Map(counts);
      })().catch((err: unknown) => this.failed("jobs", err)),
      scheduler
        .status()
        .then((st) => (s.status = st))
        .catch((err: unknown) => this.failed("status", err)),
      this.client.cluster
        .consumers()
        .then((c) => (s.consumers = c))
        .catch((err: unknown) => this.failed("consumers", err)),
    ]);
    return s;
  }

  private failed(source: string, err: unknown): void {
    this.collectErrors.inc({ source });
    this.onCollectError(source, err);
  }
}
