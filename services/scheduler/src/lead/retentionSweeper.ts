/**
 * Removes finished jobs past their retention (removeOnComplete / removeOnFail; protocol retention.ts), on
 * the leader only, every `retentionSweepMs`. A job's setting was resolved when it was queued; a job stored
 * before retention existed gets the operator's setting for its type, tenant or the default.
 *
 * `true`: removed now (a worker removes such a job itself when its run finishes it; this catches the rest).
 * `{ ageSeconds, count }`: removed once it finished longer ago than ageSeconds, or once `count` newer jobs
 * of its tenant and type finished the same way. Each removal is a compare-and-set delete on the revision
 * the index holds, so a job changed meanwhile (resumed, started again) is not removed. At most
 * `maxPerSweep` removals a sweep, the oldest first, so a backlog drains without a burst.
 *
 * A removed job leaves a delete marker in the bucket's stream, one message per key, for good: left alone,
 * the store would grow with every job ever removed. The sweep purges each marker `markerPurgeDelayMs`
 * after the index saw it (every replica's view has applied the delete by then), up to the marker's own
 * revision, so a job queued again under the same key since is not touched.
 *
 * Removals and purges run as two loops, each on its own timer and with its own CONCURRENCY requests in
 * flight: under load (the soak of bench/RESULTS.md) a pass that purged after it removed made the next
 * removals wait for the slowest purge, and finished jobs piled up while markers drained.
 */
import type { Logger } from "pino";
import type { JobStore } from "@taskjet/nats";
import { ConflictError, NotFoundError, retentionOf, type RetentionConfig } from "@taskjet/protocol";
import type { FinishedJob, JobIndex } from "../view/jobIndex.js";
import { Every } from "./every.js";

export interface RetentionSweeperDeps {
  index: JobIndex;
  store: JobStore;
  config: RetentionConfig;
  /** true while this replica leads */
  mayRemove: () => boolean;
  /**
   * removes a key's messages up to and including `revision` (its delete marker) from the bucket's stream;
   * undefined where the server cannot do that safely (before 2.9.15): the markers stay
   */
  purgeMarker: ((key: string, revision: number) => Promise<void>) | undefined;
  markerPurgeDelayMs?: number;
  intervalMs: number;
  log: Logger;
  now?: () => number;
  maxPerSweep?: number;
}

const CONCURRENCY = 64;

export class RetentionSweeper {
  private readonly every: Every;
  private readonly purgeEvery: Every;
  private sweeping: Promise<number> | undefined;
  private purging: Promise<void> | undefined;
  /** jobs removed since start */
  removed = 0;
  /** delete markers purged since start */
  purged = 0;

  constructor(private readonly d: RetentionSweeperDeps) {
    this.every = new Every(d.intervalMs, () => this.sweep());
    this.purgeEvery = new Every(d.intervalMs, () => this.purge());
  }

  start(): void {
    this.every.start();
    if (this.d.purgeMarker) this.purgeEvery.start();
  }

  stop(): void {
    this.every.stop();
    this.purgeEvery.stop();
  }

  /** One sweep of removals (a concurrent caller shares it); resolves with how many jobs it removed. */
  sweep(): Promise<number> {
    this.sweeping ??= this.run().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /** One pass over the delete markers old enough to purge (a concurrent caller shares it). */
  purge(): Promise<void> {
    this.purging ??= this.purgeMarkers().finally(() => (this.purging = undefined));
    return this.purging;
  }

  /** The finished jobs whose retention is over, the oldest first. */
  due(nowMs: number): FinishedJob[] {
    const { config } = this.d;
    // newest first per tenant, type and kind, to count the newer ones
    const groups = new Map<string, FinishedJob[]>();
    for (const f of this.d.index.finished()) {
      const g = `${f.tenant}\u0000${f.type}\u0000${f.kind}`;
      let list = groups.get(g);
      if (!list) groups.set(g, (list = []));
      list.push(f);
    }
    const out: FinishedJob[] = [];
    for (const list of groups.values()) {
      for (let i = list.length - 1, newer = 0; i >= 0; i--, newer++) {
        const f = list[i]!;
        const policy = f.policy ?? retentionOf({ type: f.type, tenantId: f.tenant }, f.kind, config);
        if (policy === false) continue;
        if (
          policy === true ||
          (policy.ageSeconds !== undefined && nowMs - f.atMs > policy.ageSeconds * 1000) ||
          (policy.count !== undefined && newer >= policy.count)
        )
          out.push(f);
      }
    }
    return out.sort((a, b) => a.atMs - b.atMs);
  }

  private async run(): Promise<number> {
    if (!this.d.mayRemove()) return 0;
    const due = this.due((this.d.now ?? Date.now)()).slice(0, this.d.maxPerSweep ?? 10_000);
    let removed = 0;
    await this.each(due, async ({ entry }) => {
      if (entry.deleted) return;
      try {
        await this.d.store.remove(entry.key, entry.revision);
        removed++;
      } catch (err) {
        // changed or removed meanwhile: the next sweep judges it again
        if (err instanceof ConflictError || err instanceof NotFoundError) return;
        this.d.log.debug({ err: String(err), job: entry.key }, "retention: removal failed");
      }
    });
    this.removed += removed;
    if (removed > 0) this.d.log.debug({ removed }, "retention: finished jobs removed");
    return removed;
  }

  private async purgeMarkers(): Promise<void> {
    const purge = this.d.purgeMarker;
    if (!purge || !this.d.mayRemove()) return;
    const markers = this.d.index.deleteMarkers();
    const cutoff = Date.now() - (this.d.markerPurgeDelayMs ?? 10_000);
    const due: [string, number][] = [];
    for (const [key, m] of markers) {
      if (m.atMs > cutoff || due.length >= (this.d.maxPerSweep ?? 10_000)) break;
      due.push([key, m.revision]);
    }
    await this.each(due, async ([key, revision]) => {
      try {
        await purge(key, revision);
        // a newer marker of the same key (removed again since) stays for a later sweep
        if (markers.get(key)?.revision === revision) markers.delete(key);
        this.purged++;
      } catch (err) {
        this.d.log.debug({ err: String(err), job: key }, "retention: purging a delete marker failed");
      }
    });
  }

  /** `fn` over `items`, CONCURRENCY at a time, while this replica leads. */
  private async each<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const lane = async () => {
      while (next < items.length && this.d.mayRemove()) await fn(items[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, lane));
  }
}
