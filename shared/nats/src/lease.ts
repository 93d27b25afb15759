/**
 * The leader lease: one key in a KV bucket whose TTL is the lease time.
 * `create` acquires, a compare-and-set `update` renews, expiry (no renew for a TTL) loses it.
 *
 * Safety: the server expires the key at (its store time of the last renew) + TTL, which is later than
 * (our send time of that renew) + TTL. We treat ourselves as leader only until send time + TTL - margin,
 * measured on the monotonic clock, so a leader that cannot renew stops acting before anyone else can
 * acquire. The revision of the acquiring `create` is the epoch; it travels with every fire.
 */
import { hostname } from "node:os";
import type { KV } from "@nats-io/kv";
import { decode, encode } from "@taskjet/protocol";
import { isCasConflict } from "./store.js";

export interface LeaseOptions {
  /** key in the lease bucket */
  key?: string;
  /** must equal the bucket's TTL */
  ttlMs: number;
  renewIntervalMs?: number;
  /** how often a follower tries to acquire */
  acquireIntervalMs?: number;
  /** stop acting as leader this long before the lease could expire */
  safetyMarginMs?: number;
  /** monotonic clock in ms (injectable for tests) */
  now?: () => number;
  holder: LeaseHolder;
  /**
   * A campaign's try that failed for another reason than the lease being held (the key exists): NATS
   * unreachable, no stream leader, a timeout. For the logs: a follower that never takes over says why.
   */
  onAcquireError?: (err: unknown) => void;
}

export interface LeaseHolder {
  replicaId: string;
  host?: string;
  pid?: number;
}

export interface LeaseValue extends Required<LeaseHolder> {
  acquiredAt: string;
}

export type LeaseListener = (leader: boolean, epoch: number) => void;

export class Lease {
  private readonly key: string;
  private readonly ttlMs: number;
  private readonly renewIntervalMs: number;
  private readonly acquireIntervalMs: number;
  private readonly marginMs: number;
  private readonly now: () => number;
  private readonly onAcquireError: ((err: unknown) => void) | undefined;
  private readonly value: LeaseValue;
  private revision = 0;
  private validUntil = 0;
  private _epoch = 0;
  private leader = false;
  private timer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private running = false;
  private ticking: Promise<void> | undefined;
  private readonly listeners = new Set<LeaseListener>();

  constructor(
    private readonly kv: KV,
    opts: LeaseOptions,
  ) {
    this.key = opts.key ?? "scheduler";
    this.ttlMs = opts.ttlMs;
    this.renewIntervalMs = opts.renewIntervalMs ?? Math.max(50, Math.floor(opts.ttlMs / 4));
    this.acquireIntervalMs = opts.acquireIntervalMs ?? Math.max(50, Math.floor(opts.ttlMs / 8));
    this.marginMs = opts.safetyMarginMs ?? Math.max(100, Math.floor(opts.ttlMs / 5));
    this.now = opts.now ?? (() => performance.now());
    this.onAcquireError = opts.onAcquireError;
    this.value = {
      replicaId: opts.holder.replicaId,
      host: opts.holder.host ?? hostname(),
      pid: opts.holder.pid ?? process.pid,
      acquiredAt: "",
    };
    if (this.renewIntervalMs >= this.ttlMs - this.marginMs) {
      throw new Error(
        `lease renew interval ${this.renewIntervalMs} ms must be well below the TTL ${this.ttlMs} ms`,
      );
    }
  }

  /** True while this replica holds a lease that cannot have expired elsewhere. */
  isLeader(): boolean {
    return this.leader && this.now() < this.validUntil;
  }

  get epoch(): number {
    return this._epoch;
  }

  onChange(fn: LeaseListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Reads who holds the lease now (any replica can ask). */
  async holder(): Promise<(LeaseValue & { epoch: number }) | undefined> {
    const e = await this.kv.get(this.key);
    if (!e || e.operation !== "PUT") return undefined;
    const v = decode(e.value) as LeaseValue & { epoch?: number };
    return { ...v, epoch: v.epoch ?? e.revision };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops campaigning; a leader releases the lease so a follower takes over at once. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.ticking;
    if (this.leader) {
      const rev = this.revision;
      this.stepDown();
      try {
        await this.kv.delete(this.key, { previousSeq: rev });
      } catch {
        // lost it already, or the server is gone: the TTL releases it
      }
    }
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => {
        this.ticking = undefined;
        this.schedule(this.leader ? this.renewIntervalMs : this.acquireIntervalMs);
      });
    }, ms);
  }

  private async tick(): Promise<void> {
    const sentAt = this.now();
    if (!this.leader) {
      try {
        const acquiredAt = new Date().toISOString();
        const rev = await this.kv.create(this.key, encode({ ...this.value, acquiredAt, epoch: 0 }));
        // the epoch is the acquiring revision; write it into the value so readers see it
        const rev2 = await this.kv.update(this.key, encode({ ...this.value, acquiredAt, epoch: rev }), rev);
        this.revision = rev2;
        this.value.acquiredAt = acquiredAt;
        this._epoch = rev;
        this.extend(sentAt);
        this.leader = true;
        this.emit();
      } catch (err) {
        // held by someone else (the usual answer), or NATS is unreachable: try again later
        if (!isCasConflict(err)) this.onAcquireError?.(err);
      }
      return;
    }
    try {
      this.revision = await this.kv.update(
        this.key,
        encode({ ...this.value, epoch: this._epoch }),
        this.revision,
        this.renewIntervalMs,
      );
      this.extend(sentAt);
    } catch (err) {
      if (isCasConflict(err)) this.stepDown();
      // other errors: keep the lease until validUntil passes (the expiry timer steps down)
    }
  }

  private extend(sentAt: number): void {
    this.validUntil = sentAt + this.ttlMs - this.marginMs;
    clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(
      () => {
        if (this.leader && this.now() >= this.validUntil) this.stepDown();
      },
      Math.max(0, this.validUntil - this.now()) + 1,
    );
  }

  private stepDown(): void {
    clearTimeout(this.expiryTimer);
    if (!this.leader) return;
    this.leader = false;
    this.validUntil = 0;
    this.emit();
  }

  private emit(): void {
    for (const fn of this.listeners) fn(this.leader, this._epoch);
  }
}
