/**
 * The worker's run slots and its prefetch buffer. At most `concurrency` handlers run at once; a fire that
 * finds no free slot waits in a FIFO per priority, and a freed slot takes the highest priority first. The
 * room the puller may fill is free slots plus free buffer, so a worker never takes more than it can start
 * soon; what waits a whole workingIntervalMs is handed back for another worker.
 */
import type { ActiveRun } from "../run/activeRun.js";
import type { ResolvedWorkerOptions } from "../options.js";

export interface SlotsDeps {
  o: ResolvedWorkerOptions;
  /** runs the message to settlement; never rejects (Runner.run) */
  run: (a: ActiveRun) => Promise<void>;
  /** a run settled: the puller may pull again */
  settled: () => void;
  /** true while the worker stops: no run starts any more */
  stopping: () => boolean;
}

/** Runs in flight (handler running or outcome being written) stay below concurrency times this. */
const FINISHING_FACTOR = 4;

export class RunSlots {
  /** runs in flight: handler running, or its outcome being written and acked */
  readonly active = new Set<ActiveRun>();
  /** runs whose handler has not returned yet: what `concurrency` limits */
  private handlersRunning = 0;
  /** prefetched runs waiting for a slot, one FIFO per priority (index 0 = p1) */
  private readonly buffered: ActiveRun[][] = [[], [], [], [], []];
  private bufferedCount = 0;
  /** a pull round starts when this much room is free (or a run slot idles) */
  private readonly refillAt: number;
  private idleWaiters: (() => void)[] = [];
  private settledRuns = 0;
  /** finishes held back while released runs wait to start (see finishTurn) */
  private gate: { promise: Promise<void>; open: () => void; fallback: NodeJS.Immediate } | undefined;
  /** runs waiting at the gate: they hold no slot and are not yet finishing */
  private atGate = 0;

  constructor(private readonly d: SlotsDeps) {
    this.refillAt = Math.max(1, Math.floor((d.o.concurrency + d.o.prefetch) / 4));
  }

  /**
   * Called when a run's handler returned: a promise to wait on before the run's finish (ack, outcome write,
   * events), or undefined to finish at once. While fires released at their instant still wait for a slot,
   * finishes wait, so every handler of a burst starts before the burst's bookkeeping runs: the last start
   * of 10,000 due at one second is not behind 9,999 finishes. The wait ends when no run waits for a slot, or
   * at the next turn of the event loop (long handlers hold the slots: nothing would start sooner).
   */
  finishTurn(): Promise<void> | undefined {
    if (this.bufferedCount === 0) return undefined;
    if (!this.gate) {
      let open!: () => void;
      const promise = new Promise<void>((resolve) => (open = resolve));
      this.gate = { promise, open, fallback: setImmediate(() => this.openGate()) };
    }
    this.atGate++;
    return this.gate.promise;
  }

  /** Runs settled since start (acked, nak'd or terminated). */
  get settledCount(): number {
    return this.settledRuns;
  }

  /** Room for more messages: free run slots plus free prefetch buffer. */
  room(): number {
    return this.d.o.concurrency + this.d.o.prefetch - this.active.size - this.bufferedCount;
  }

  /** A pull round is worth it: room, and a run slot idle or enough room for a batch. */
  wantsMore(): boolean {
    const room = this.room();
    return room > 0 && (this.handlersRunning < this.d.o.concurrency || room >= this.refillAt);
  }

  /** Runs `a` if a slot is free, else buffers it by priority. */
  enqueue(a: ActiveRun): void {
    if (this.hasSlot()) {
      this.dispatch(a);
      return;
    }
    this.buffer(a);
  }

  /** Early fires whose instant came: into the buffer, then highest priority first into free slots. */
  release(runs: ActiveRun[]): void {
    for (const a of runs) this.buffer(a);
    this.fillSlots();
  }

  /** Prefetched fires that waited since `cutoff` are handed back (another worker may take them now). */
  handBackWaiting(cutoff: number): void {
    if (this.bufferedCount === 0) return;
    for (const queue of this.buffered) {
      while (queue.length > 0 && queue[0]!.bufferedAt <= cutoff) {
        queue.shift()!.msg.nak();
        this.bufferedCount--;
      }
    }
    if (this.bufferedCount === 0) this.openGate();
  }

  /** Every buffered fire is handed back (stop). */
  handBackAll(): void {
    for (const queue of this.buffered) for (const a of queue.splice(0)) a.msg.nak();
    this.bufferedCount = 0;
    this.openGate();
  }

  /** Drops the prepared (early) runs that match from the buffer, calling `dropped` for each. */
  dropPrepared(match: (a: ActiveRun) => boolean, dropped: (a: ActiveRun) => void): void {
    for (let p = 0; p < this.buffered.length; p++) {
      const queue = this.buffered[p]!;
      const keep = queue.filter((a) => !(a.prepared && match(a)));
      if (keep.length === queue.length) continue;
      for (const a of queue) if (a.prepared && match(a)) dropped(a);
      this.bufferedCount -= queue.length - keep.length;
      this.buffered[p] = keep;
    }
    if (this.bufferedCount === 0) this.openGate();
  }

  /** Resolves when no run is in flight, or after `ms`. */
  waitIdle(ms: number): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.idleWaiters.push(done);
    });
  }

  /**
   * A slot is free: fewer than `concurrency` handlers run, and the runs whose outcome is still being
   * written (they no longer hold a slot, so a burst starts without waiting for store round trips) are
   * bounded too.
   */
  private hasSlot(): boolean {
    const o = this.d.o;
    return (
      this.handlersRunning < o.concurrency &&
      this.active.size - this.atGate < o.concurrency * FINISHING_FACTOR &&
      !this.d.stopping()
    );
  }

  private buffer(a: ActiveRun): void {
    a.bufferedAt = Date.now();
    this.buffered[a.msg.priority - 1]!.push(a);
    this.bufferedCount++;
  }

  private fillSlots(): void {
    while (this.hasSlot()) {
      const next = this.nextBuffered();
      if (!next) break;
      this.dispatch(next);
    }
    if (this.bufferedCount === 0) this.openGate();
  }

  /** Lets the held finishes go on (finishTurn). */
  private openGate(): void {
    const gate = this.gate;
    if (!gate) return;
    this.gate = undefined;
    this.atGate = 0;
    clearImmediate(gate.fallback);
    gate.open();
  }

  /** The highest-priority buffered run, oldest first. */
  private nextBuffered(): ActiveRun | undefined {
    if (this.bufferedCount === 0) return undefined;
    for (let p = this.buffered.length - 1; p >= 0; p--) {
      const a = this.buffered[p]!.shift();
      if (a) {
        this.bufferedCount--;
        return a;
      }
    }
    return undefined;
  }

  private dispatch(a: ActiveRun): void {
    this.active.add(a);
    this.handlersRunning++;
    let slotHeld = true;
    const freeSlot = () => {
      if (!slotHeld) return;
      slotHeld = false;
      this.handlersRunning--;
    };
    // the handler returned: its slot is free while the outcome is written
    a.onHandlerDone = () => {
      freeSlot();
      this.fillSlots();
      return this.finishTurn();
    };
    void this.d.run(a).finally(() => {
      freeSlot();
      this.active.delete(a);
      this.settledRuns++;
      this.fillSlots();
      if (this.active.size === 0) for (const w of this.idleWaiters.splice(0)) w();
      this.d.settled();
    });
  }
}
