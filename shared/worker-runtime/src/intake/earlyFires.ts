/**
 * Fires that arrive before their nominal time. The scheduler publishes up to its `leadMs` ahead (a burst of
 * thousands due at one instant takes a while to publish and deliver), so the worker gets each fire early,
 * prepares it at once (decode, job read: see Runner.prepare) and holds it here, outside the run slots, until
 * its nominal time. Then it competes for a slot like any other fire, and its handler starts at the instant
 * instead of after the rest of the burst was delivered.
 *
 * One timer per distinct instant (a burst due at one second is one timer), released in arrival order; the
 * worker sorts the released runs by priority.
 */
import type { ActiveRun } from "../run/activeRun.js";

export class EarlyFires {
  private readonly byInstant = new Map<number, ActiveRun[]>();
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private held = 0;

  constructor(
    private readonly release: (runs: ActiveRun[]) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs held right now. */
  get size(): number {
    return this.held;
  }

  /** Holds `a` until `atMs` (wall clock). */
  hold(a: ActiveRun, atMs: number): void {
    let runs = this.byInstant.get(atMs);
    if (!runs) {
      this.byInstant.set(atMs, (runs = []));
      const timer = setTimeout(() => this.due(atMs), Math.max(0, atMs - this.now()));
      this.timers.set(atMs, timer);
    }
    runs.push(a);
    this.held++;
  }

  /** Takes out every held run that matches (they are not released). */
  take(match: (a: ActiveRun) => boolean): ActiveRun[] {
    const out: ActiveRun[] = [];
    for (const [atMs, runs] of this.byInstant) {
      const keep = runs.filter((a) => !match(a));
      if (keep.length === runs.length) continue;
      for (const a of runs) if (match(a)) out.push(a);
      if (keep.length > 0) this.byInstant.set(atMs, keep);
      else this.forget(atMs);
    }
    this.held -= out.length;
    return out;
  }

  /** Every held run (for in-progress acks). */
  *all(): Iterable<ActiveRun> {
    for (const runs of this.byInstant.values()) yield* runs;
  }

  /** Takes out everything (shutdown: the caller hands them back). */
  clear(): ActiveRun[] {
    return this.take(() => true);
  }

  private due(atMs: number): void {
    const runs = this.byInstant.get(atMs);
    this.forget(atMs);
    if (!runs) return;
    this.held -= runs.length;
    this.release(runs);
  }

  private forget(atMs: number): void {
    clearTimeout(this.timers.get(atMs));
    this.timers.delete(atMs);
    this.byInstant.delete(atMs);
  }
}
