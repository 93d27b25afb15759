/**
 * Clears runs of dead workers from state.running. A worker that crashed mid-run never removes its run,
 * and with overlapPolicy skip/bufferOne that run would hold the job back forever. The leader drops a run
 * whose worker has no heartbeat in the registry any more and which started longer ago than the registry
 * TTL (so a worker that just started is not mistaken for a dead one). JetStream redelivers the fire itself.
 */
import type { Logger } from "pino";
import type { Registry } from "@taskjet/nats";
import type { Bookkeeper } from "../fire/bookkeeper.js";
import type { JobIndex } from "../view/jobIndex.js";
import type { SchedulerMetrics } from "../serviceEvents.js";
import type { FiringState } from "../fire/firingState.js";
import { Every } from "./every.js";

export class Reaper {
  private readonly every: Every;
  private sweeping = false;

  constructor(
    private readonly d: {
      /** whether we lead, and the jobs with runs (read-only) */
      firing: FiringState;
      index: JobIndex;
      registry: Registry;
      books: Bookkeeper;
      intervalMs: number;
      registryTtlMs: number;
      log: Logger;
      metrics: SchedulerMetrics;
    },
  ) {
    this.every = new Every(d.intervalMs, () => this.sweep());
  }

  start(): void {
    this.every.start();
  }

  stop(): void {
    this.every.stop();
  }

  async sweep(): Promise<number> {
    const { firing, registry, books, index, log, metrics } = this.d;
    if (this.sweeping || !firing.isFiring || firing.withRuns.size === 0) return 0;
    this.sweeping = true;
    let reaped = 0;
    try {
      const alive = new Set((await registry.workers()).map((w) => w.workerId));
      const now = Date.now();
      for (const e of [...firing.withRuns]) {
        const runs = e.record().state.running ?? [];
        const isDead = (r: (typeof runs)[number]) =>
          !alive.has(r.worker) && now - Date.parse(r.startedAt) > this.d.registryTtlMs;
        const dead = runs.filter(isDead);
        if (dead.length === 0) continue;
        index.applyLocal(e.key, await books.clearRuns(e, isDead));
        reaped += dead.length;
        metrics.reapedRuns += dead.length;
        log.warn(
          { job: e.key, runs: dead.map((r) => r.fireId) },
          "cleared runs of workers that stopped heartbeating",
        );
      }
    } catch (err) {
      log.debug({ err: String(err) }, "reaper sweep failed");
    } finally {
      this.sweeping = false;
    }
    return reaped;
  }
}
