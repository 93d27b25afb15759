/**
 * Warns when a worker's clock differs from the leader's by more than maxClockSkewMs (pg-boss's timekeeper
 * does the same against its database). Due times come from the leader's clock and workers judge timeouts,
 * lock expiry and lateness with theirs, so taskjet ASSUMES NTP-synchronised clocks; this check makes a
 * violation visible (log + the clockSkewWarnings counter) instead of silent.
 *
 * Method: both sides are compared with the NATS server's clock. A worker's heartbeat carries `seenAt` (its
 * clock at sending) and the KV entry carries `created` (the server's clock at storing), so
 * workerOffset = seenAt - created (plus the send latency, a few ms). Our own offset comes from our replica
 * heartbeat the same way (replicaHeartbeat.ts). skew = workerOffset - ourOffset.
 */
import type { KV } from "@nats-io/kv";
import type { Logger } from "pino";
import { decode, type WorkerInfo } from "@taskjet/protocol";
import type { ReplicaHeartbeat } from "./replicaHeartbeat.js";
import type { SchedulerMetrics, ServiceEvents } from "../serviceEvents.js";
import { Every } from "./every.js";

export class ClockSkewMonitor {
  private readonly every: Every;
  /** the last measured skew per worker (ms, worker minus leader) */
  readonly skews = new Map<string, number>();

  constructor(
    private readonly kv: KV,
    private readonly heartbeat: ReplicaHeartbeat,
    private readonly opts: { maxClockSkewMs: number; intervalMs: number },
    private readonly log: Logger,
    private readonly metrics: SchedulerMetrics,
    private readonly events: ServiceEvents,
  ) {
    this.every = new Every(opts.intervalMs, () => this.check().catch(() => undefined));
  }

  start(): void {
    this.every.start();
  }

  stop(): void {
    this.every.stop();
  }

  /** Measures every registered worker now; returns the workers beyond the threshold. */
  async check(): Promise<{ workerId: string; skewMs: number }[]> {
    await this.heartbeat.beat();
    const ours = this.heartbeat.offsetMs;
    if (ours === undefined) return [];
    const keys: string[] = [];
    for await (const k of await this.kv.keys("worker.*")) keys.push(k);
    const out: { workerId: string; skewMs: number }[] = [];
    for (const k of keys) {
      const e = await this.kv.get(k);
      if (!e || e.operation !== "PUT") continue;
      let w: WorkerInfo;
      try {
        w = decode(e.value) as WorkerInfo;
      } catch {
        continue;
      }
      const seenAt = Date.parse(w.seenAt);
      if (Number.isNaN(seenAt)) continue;
      const skewMs = Math.round(seenAt - e.created.getTime() - ours);
      this.skews.set(w.workerId, skewMs);
      if (Math.abs(skewMs) > this.opts.maxClockSkewMs) {
        this.metrics.clockSkewWarnings++;
        this.events.emit("clock:skew", { workerId: w.workerId, skewMs });
        this.log.warn(
          { workerId: w.workerId, host: w.host, skewMs, maxClockSkewMs: this.opts.maxClockSkewMs },
          "worker clock differs from the leader's: keep clocks NTP-synchronised",
        );
        out.push({ workerId: w.workerId, skewMs });
      }
    }
    return out;
  }
}
