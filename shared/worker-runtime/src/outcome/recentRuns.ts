/**
 * Fast-lane runs that finished on this worker and left nothing in the store (retention `true`): their fire
 * ids, the newest RECENT_KEPT. A redelivery of one (its ack was lost while the connection stayed up) is
 * recognised here and not run again. After a crash of this worker, or on another worker, such a run cannot
 * be recognised: the store holds nothing of it (docs/worker.md, "The fast lane").
 */
export const RECENT_KEPT = 10_000;

export class RecentRuns {
  private readonly ids = new Set<string>();

  add(fireId: string): void {
    this.ids.add(fireId);
    // a Set iterates in insertion order: the first is the oldest
    if (this.ids.size > RECENT_KEPT) this.ids.delete(this.ids.values().next().value!);
  }

  has(fireId: string): boolean {
    return this.ids.has(fireId);
  }
}
