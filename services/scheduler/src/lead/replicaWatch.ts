/**
 * Watches the copies of the streams taskjet cannot run without (the run stream, the job bucket, the lease
 * bucket) on a replicated cluster, every `intervalMs`. A copy that stays behind its stream's leader for
 * `stuckAfterMs` (offline, or not current with a lag that does not shrink) is reported: one error log line
 * when it becomes stuck and one when it recovers, the gauges taskjet_stream_replica_lag and
 * taskjet_stream_replica_stuck, and a readiness failure of every scheduler replica that sees it. A stream
 * without a leader for that long is reported the same way (peer `(leader)`).
 *
 * Why report and not repair: after a partition heal, nats-server 2.9.10 left a copy of the run stream at its
 * pre-cut sequence for good while its consumers kept waiting on it (issue 18; runs stopped for 80-91 s until
 * the end of observation). Nothing a client can ask makes that copy catch up short of removing the peer
 * (`nats stream cluster peer-remove <stream> <peer>`, after which the server places a fresh copy): a step an
 * operator takes, once told (docs/operations.md, "Network partitions").
 *
 * Every scheduler replica runs it (three STREAM.INFO requests per interval), so readiness says it wherever it
 * is asked; it runs only where streams are replicated.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { Logger } from "pino";

export interface ReplicaHealth {
  stream: string;
  /** the server name of the copy, or `(leader)` for a stream that has none */
  peer: string;
  current: boolean;
  offline: boolean;
  /** operations behind the leader */
  lag: number;
  /** how long it has been behind without catching up (0 when it is current) */
  behindMs: number;
  stuck: boolean;
}

export interface ReplicaWatchDeps {
  jsm: JetStreamManager;
  streams: readonly string[];
  stuckAfterMs: number;
  log: Logger;
  now?: () => number;
}

const NO_LEADER = "(leader)";

export class ReplicaWatch {
  /** per `<stream>/<peer>`: since when it has been behind, and the smallest lag seen since */
  private readonly behind = new Map<string, { sinceMs: number; minLag: number; reported: boolean }>();
  private last: ReplicaHealth[] = [];
  private checking: Promise<ReplicaHealth[]> | undefined;

  constructor(private readonly d: ReplicaWatchDeps) {}

  /** The copies seen at the last check. */
  health(): ReplicaHealth[] {
    return this.last;
  }

  /** The copies stuck at the last check. */
  stuck(): ReplicaHealth[] {
    return this.last.filter((r) => r.stuck);
  }

  /** One check of every stream (a concurrent caller shares it). A stream that cannot be read is left out. */
  check(): Promise<ReplicaHealth[]> {
    this.checking ??= this.run().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async run(): Promise<ReplicaHealth[]> {
    const now = (this.d.now ?? Date.now)();
    const out: ReplicaHealth[] = [];
    const seen = new Set<string>();
    for (const stream of this.d.streams) {
      const info = await this.d.jsm.streams.info(stream).catch(() => undefined);
      const cluster = info?.cluster;
      if (!cluster) continue;
      const copies = cluster.leader
        ? (cluster.replicas ?? []).map((r) => ({
            peer: r.name,
            current: r.current,
            offline: r.offline === true,
            lag: r.lag ?? 0,
          }))
        : [{ peer: NO_LEADER, current: false, offline: false, lag: 0 }];
      for (const c of copies) {
        const key = `${stream}/${c.peer}`;
        seen.add(key);
        out.push(this.judge(key, stream, c, now));
      }
    }
    // a copy no longer listed (removed, or its stream has a leader again) is not behind any more
    for (const [key, b] of this.behind) {
      if (seen.has(key)) continue;
      if (b.reported) this.d.log.info({ replica: key }, "stream copy recovered");
      this.behind.delete(key);
    }
    this.last = out;
    return out;
  }

  private judge(
    key: string,
    stream: string,
    c: { peer: string; current: boolean; offline: boolean; lag: number },
    now: number,
  ): ReplicaHealth {
    const behindNow = c.offline || !c.current || c.lag > 0;
    let b = this.behind.get(key);
    if (!behindNow) {
      if (b?.reported) this.d.log.info({ stream, peer: c.peer }, "stream copy caught up");
      this.behind.delete(key);
      return { stream, ...c, behindMs: 0, stuck: false };
    }
    if (!b) this.behind.set(key, (b = { sinceMs: now, minLag: c.lag, reported: false }));
    else if (c.lag < b.minLag) {
      // catching up: behind, but not stuck
      b.minLag = c.lag;
      b.sinceMs = now;
    }
    const behindMs = now - b.sinceMs;
    const stuck = behindMs >= this.d.stuckAfterMs;
    if (stuck && !b.reported) {
      b.reported = true;
      this.d.log.error(
        { stream, peer: c.peer, lag: c.lag, offline: c.offline, behindMs },
        c.peer === NO_LEADER
          ? "stream has no leader: fires and runs that need it wait"
          : "stream copy stuck behind its leader: see docs/operations.md, Network partitions",
      );
    }
    return { stream, ...c, behindMs, stuck };
  }
}

/** A readiness reason naming the stuck copies, or undefined when there is none. */
export function stuckReason(stuck: readonly ReplicaHealth[]): string | undefined {
  if (stuck.length === 0) return undefined;
  return (
    "stream copies stuck: " +
    stuck
      .map(
        (r) =>
          `${r.stream} ${r.peer} (${r.offline ? "offline" : `lag ${r.lag}`}, ${Math.round(r.behindMs / 1000)} s)`,
      )
      .join(", ")
  );
}
