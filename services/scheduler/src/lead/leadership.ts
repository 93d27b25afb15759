/**
 * Leadership: campaigns for the lease in the lease bucket (shared Lease: create to acquire, compare-and-set
 * to renew, TTL = leaseTtlMs; it steps down before its lease could have expired elsewhere). Any number of
 * replicas campaign; the one holding the lease fires, and its lease revision is the epoch that travels with
 * every fire. `standby` stops campaigning (and releases the lease at once, so a follower takes over without
 * waiting for the TTL); `campaign` starts again.
 */
import type { KV } from "@nats-io/kv";
import { Lease, type LeaseValue } from "@taskjet/nats";

export type Role = "leader" | "follower" | "standby";

export class Leadership {
  private readonly lease: Lease;
  private campaigning = false;
  /** a campaign resumed after a resign's pause */
  private resume: NodeJS.Timeout | undefined;

  constructor(
    kv: KV,
    opts: { ttlMs: number; replicaId: string; onAcquireError?: (err: unknown) => void },
    onChange: (leader: boolean, epoch: number) => void,
  ) {
    this.lease = new Lease(kv, {
      ttlMs: opts.ttlMs,
      holder: { replicaId: opts.replicaId },
      ...(opts.onAcquireError ? { onAcquireError: opts.onAcquireError } : {}),
    });
    this.lease.onChange(onChange);
  }

  get isCampaigning(): boolean {
    return this.campaigning;
  }

  /** True while this replica holds a lease that cannot have expired elsewhere. */
  isLeader(): boolean {
    return this.lease.isLeader();
  }

  get epoch(): number {
    return this.lease.epoch;
  }

  campaign(): void {
    clearTimeout(this.resume);
    this.resume = undefined;
    if (this.campaigning) return;
    this.campaigning = true;
    this.lease.start();
  }

  /** Stops campaigning; a leader steps down and deletes the lease so a follower acquires it at once. */
  async standby(): Promise<void> {
    clearTimeout(this.resume);
    this.resume = undefined;
    this.campaigning = false;
    await this.lease.stop();
  }

  /**
   * Gives the lease up but keeps campaigning (e.g. after a failed takeover), so someone can take over;
   * with `pauseMs`, this replica campaigns again only after that pause, leaving the lease to the others.
   */
  async resign(pauseMs = 0): Promise<void> {
    const was = this.campaigning || this.resume !== undefined;
    await this.standby();
    if (!was) return;
    if (pauseMs <= 0) return this.campaign();
    this.resume = setTimeout(() => {
      this.resume = undefined;
      this.campaign();
    }, pauseMs);
    this.resume.unref();
  }

  /** Who holds the lease now, as any replica sees it. */
  async holder(): Promise<(LeaseValue & { epoch: number }) | undefined> {
    return this.lease.holder();
  }
}
