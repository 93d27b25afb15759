/**
 * The leader's side of the fire cursor (the design is in fireCursor.ts): every cursorIntervalMs it derives
 * firedThroughMs and jobsRevision from the due heap and the busy entries (read through the ticker's
 * FiringState, fire/firingState.ts), and writes them with compare-and-set. A write that loses to another
 * epoch means we were deposed: stop firing at once.
 */
import type { Logger } from "pino";
import { FencedError } from "@taskjet/protocol";
import type { Clock } from "../plan/clock.js";
import type { CursorStore, CursorValue } from "../fire/fireCursor.js";
import type { JobIndex } from "../view/jobIndex.js";
import type { SchedulerMetrics, ServiceEvents } from "../serviceEvents.js";
import type { FiringState } from "../fire/firingState.js";
import { Every } from "./every.js";

// rewrite an unchanged cursor this often anyway, so followers and `status` see the leader is alive
const IDLE_REWRITE_MS = 5_000;

export interface CursorKeeperDeps {
  /** the heap, busy and retiring entries, read-only */
  firing: FiringState;
  index: JobIndex;
  store: CursorStore;
  clock: Clock;
  replicaId: string;
  intervalMs: number;
  log: Logger;
  events: ServiceEvents;
  metrics: SchedulerMetrics;
  /** called when a write shows another leader took over */
  onFenced: (err: FencedError) => void;
}

export class CursorKeeper {
  private readonly every: Every;
  private written: CursorValue | undefined;
  private writtenAtMs = 0;
  private writing: Promise<void> | undefined;
  private epoch = 0;

  constructor(private readonly d: CursorKeeperDeps) {
    this.every = new Every(d.intervalMs, () => this.tick());
  }

  /** Starts writing for `epoch`, from the value claimed at takeover. */
  start(epoch: number, claimed: CursorValue): void {
    this.stop();
    this.epoch = epoch;
    this.written = { ...claimed, epoch };
    this.writtenAtMs = Date.now();
    this.every.start();
  }

  stop(): void {
    this.every.stop();
  }

  /** The cursor the leader may promise now. */
  compute(): CursorValue {
    const { firing, index, clock } = this.d;
    const now = clock.now();
    const minDue = firing.earliestDue();
    const previous = this.written?.firedThroughMs ?? Number.NEGATIVE_INFINITY;
    // never backwards: a job that shows up due before it is excluded through jobsRevision instead
    const through = Math.max(previous, Math.min(now, minDue - 1));
    let jobsRevision = index.revision;
    const exclude = (schedRev: number) => {
      if (schedRev - 1 < jobsRevision) jobsRevision = schedRev - 1;
    };
    firing.forEachDue(through, (e) => exclude(e.schedRev));
    for (const e of firing.retiring) exclude(e.schedRev);
    return {
      epoch: this.epoch,
      firedThroughMs: through,
      jobsRevision: Math.max(0, jobsRevision),
      writtenAt: new Date(now).toISOString(),
      replicaId: this.d.replicaId,
    };
  }

  /** Computes and writes (when changed, or to show liveness); one write at a time. */
  tick(force = false): Promise<void> {
    if (this.writing) return this.writing;
    this.writing = this.write(force).finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  /** Final write of a leader that stops gracefully: the next one resumes exactly here. */
  async flush(): Promise<void> {
    await this.writing;
    await this.tick(true);
  }

  private async write(force: boolean): Promise<void> {
    if (!this.written || !Number.isFinite(this.d.clock.now())) return;
    const value = this.compute();
    const same =
      value.firedThroughMs === this.written.firedThroughMs &&
      value.jobsRevision === this.written.jobsRevision;
    if (same && !force && Date.now() - this.writtenAtMs < IDLE_REWRITE_MS) return;
    try {
      await this.d.store.write(value);
      this.written = value;
      this.writtenAtMs = Date.now();
      this.d.metrics.cursorWrites++;
      this.d.events.emit("cursor:written", value);
    } catch (err) {
      if (err instanceof FencedError) {
        this.d.metrics.fencedEvents++;
        this.stop();
        this.d.onFenced(err);
        return;
      }
      this.d.log.warn({ err: String(err) }, "writing the fire cursor failed; trying again");
    }
  }
}
