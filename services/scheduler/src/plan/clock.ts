/**
 * The wall clock the scheduler computes due times with. Injectable so tests can drive cron logic, DST
 * transitions and clock jumps without waiting: `ManualClock` only moves when the test says so.
 *
 * Only schedule arithmetic uses this clock. Leadership (the lease) runs on the monotonic clock, and
 * network timeouts on real timers, so a test that freezes the wall clock still elects a leader.
 */

export type TimerHandle = { readonly id: number };

export interface Clock {
  /** Wall-clock time in ms since the epoch. */
  now(): number;
  /** Calls `fn` once `ms` have passed on this clock. */
  setTimer(fn: () => void, ms: number): TimerHandle;
  clearTimer(handle: TimerHandle | undefined): void;
}

let nextTimerId = 1;

/** The real clock: `Date.now()` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    return { id: nextTimerId++, t } as TimerHandle & { t: NodeJS.Timeout };
  },
  clearTimer(handle) {
    if (handle) clearTimeout((handle as TimerHandle & { t: NodeJS.Timeout }).t);
  },
};

interface PendingTimer {
  handle: TimerHandle;
  at: number;
  fn: () => void;
}

/**
 * A clock that stands still until told to move. Like the real thing, it has a wall clock (`now()`) and a
 * monotonic clock that timers run on: `advance(ms)` moves both and runs every timer that falls due on the
 * way (in due order, each seeing the wall time of its due instant); `set(ms)` steps only the wall clock
 * (forwards or backwards, as an NTP step would) and leaves pending timers where they are.
 */
export class ManualClock implements Clock {
  private wall: number;
  private mono = 0;
  private timers: PendingTimer[] = [];

  constructor(startMs: number | Date | string) {
    this.wall = toMs(startMs);
  }

  now(): number {
    return this.wall;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const handle: TimerHandle = { id: nextTimerId++ };
    this.timers.push({ handle, at: this.mono + Math.max(0, ms), fn });
    return handle;
  }

  clearTimer(handle: TimerHandle | undefined): void {
    if (!handle) return;
    this.timers = this.timers.filter((t) => t.handle.id !== handle.id);
  }

  /** Moves both clocks forward by `ms`, running timers that fall due on the way. */
  advance(ms: number): void {
    const target = this.mono + Math.max(0, ms);
    for (;;) {
      const next = this.earliest();
      if (!next || next.at > target) break;
      this.wall += next.at - this.mono;
      this.mono = next.at;
      this.timers = this.timers.filter((x) => x !== next);
      next.fn();
    }
    this.wall += target - this.mono;
    this.mono = target;
  }

  /** Steps the wall clock to `ms`; timers keep their remaining time. */
  set(ms: number | Date | string): void {
    this.wall = toMs(ms);
  }

  /** Number of timers waiting (for tests that want to know the scheduler is asleep). */
  get pendingTimers(): number {
    return this.timers.length;
  }

  private earliest(): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.timers) if (!best || t.at < best.at) best = t;
    return best;
  }
}

function toMs(t: number | Date | string): number {
  return typeof t === "number" ? t : new Date(t).getTime();
}
