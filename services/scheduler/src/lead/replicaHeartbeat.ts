/**
 * This replica's heartbeat in the registry bucket (`replica.<id>`, TTL = registryTtlMs): `status` lists the
 * replicas from it. Each beat also measures this replica's clock against the NATS server's (the KV entry's
 * server-side store time), which the clock-skew check compares workers with.
 */
import type { KV } from "@nats-io/kv";
import type { Logger } from "pino";
import type { Registry } from "@taskjet/nats";
import type { ReplicaInfo } from "@taskjet/protocol";
import type { Clock } from "../plan/clock.js";
import { Every } from "./every.js";

export class ReplicaHeartbeat {
  private readonly every: Every;
  /** our clock minus the server's, from the last beat (ms); undefined before the first */
  offsetMs: number | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly kv: KV,
    private readonly info: () => ReplicaInfo,
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {
    this.every = new Every(intervalMs, () => this.beat());
  }

  start(): void {
    if (this.every.running) return;
    void this.beat();
    this.every.start();
  }

  /** Writes the heartbeat now (also on every role change) and re-measures the clock offset. */
  async beat(): Promise<void> {
    const info = this.info();
    try {
      const sentAt = this.clock.now();
      await this.registry.putReplica(info);
      const ackedAt = this.clock.now();
      const e = await this.kv.get(`replica.${info.replicaId}`);
      // the server stamped the entry somewhere between send and ack: take the middle
      if (e) this.offsetMs = (sentAt + ackedAt) / 2 - e.created.getTime();
    } catch (err) {
      this.log.debug({ err: String(err) }, "replica heartbeat failed");
    }
  }

  async stop(): Promise<void> {
    this.every.stop();
    await this.registry.remove("replica", this.info().replicaId).catch(() => undefined);
  }
}
