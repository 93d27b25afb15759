/**
 * Fencing for the firing path: a leader may publish a fire or write the store only while it still fires
 * under the generation the work began in, and still holds the lease.
 *
 * A Fence is one generation of firing (one startFiring, up to the next stop or start). It is a value handed
 * down the pipeline with each batch (batchPublisher.ts, dispatcher.ts, settler.ts) instead of a way back
 * into the ticker: work begun under a revoked fence publishes and writes nothing. It also carries what the
 * generation resumed from (the claimed cursor), which decides where a job's next fire may start.
 *
 * Fencing holds the current fence. The ticker opens and revokes fences through it; the bookkeeper, built
 * before the ticker, asks it before each store write (the current generation, whichever it is).
 */
import { EMPTY_CURSOR, isCovered, type CursorValue } from "./fireCursor.js";
import type { JobEntry } from "../view/jobEntry.js";

export class Fence {
  private revoked = false;

  constructor(
    /** the lease revision this generation fires under (carried by every fire) */
    readonly epoch: number,
    /** the cursor claimed at takeover: covered jobs resume after it */
    private readonly adopt: CursorValue,
    private readonly isLeader: () => boolean,
  ) {}

  /** The check before every publish and store write; bound once, passed on as is (no closure per batch). */
  readonly mayFire = (): boolean => !this.revoked && this.isLeader();

  /** Still the generation the ticker fires under (it may have lost the lease meanwhile: see mayFire). */
  get live(): boolean {
    return !this.revoked;
  }

  revoke(): void {
    this.revoked = true;
  }

  /** Where the job's next fire may start: strictly after this. */
  floorOf(e: JobEntry): number {
    const f = Math.max(e.hwm, e.storeFloor());
    return this.revoked || !isCovered(e, this.adopt) ? f : Math.max(f, this.adopt.firedThroughMs);
  }
}

/** A fence that was never open: the state before the first takeover. */
function closedFence(): Fence {
  const f = new Fence(0, EMPTY_CURSOR, () => false);
  f.revoke();
  return f;
}

export class Fencing {
  private fence = closedFence();

  constructor(private readonly isLeader: () => boolean) {}

  /** The generation fired under now, or the last one (revoked) when not firing. */
  get current(): Fence {
    return this.fence;
  }

  /** Starts a generation: revokes the one before. */
  open(epoch: number, adopt: CursorValue): Fence {
    this.fence.revoke();
    this.fence = new Fence(epoch, adopt, this.isLeader);
    return this.fence;
  }

  close(): void {
    this.fence.revoke();
  }

  /** The current generation may publish and write (the bookkeeper's check). */
  readonly mayFire = (): boolean => this.fence.mayFire();
}
