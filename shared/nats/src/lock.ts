/**
 * Per-job run locks (the seed's IJobLockProvider with LockTimeOut): key `<tenant>.<jobId>` in `<p>-locks`.
 * The value carries its own expiry, so a crashed worker never blocks a job longer than the timeout:
 * an expired lock is taken over with a compare-and-set. Release is a compare-and-set delete.
 */
import type { KV } from "@nats-io/kv";
import { decode, encode } from "@taskjet/protocol";
import { isCasConflict } from "./store.js";

export interface LockValue {
  owner: string;
  fireId: string;
  expiresAt: number;
}

export interface LockHandle {
  key: string;
  revision: number;
  value: LockValue;
}

export class LockProvider {
  constructor(
    private readonly kv: KV,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes the lock, or returns undefined while another holder's lock is alive. */
  async acquire(
    key: string,
    owner: string,
    fireId: string,
    timeoutMs: number,
  ): Promise<LockHandle | undefined> {
    const value: LockValue = { owner, fireId, expiresAt: this.now() + timeoutMs };
    try {
      const revision = await this.kv.create(key, encode(value));
      return { key, revision, value };
    } catch (err) {
      if (!isCasConflict(err)) throw err;
    }
    const current = await this.kv.get(key);
    if (current && current.operation === "PUT") {
      const held = decode(current.value) as LockValue;
      if (held.expiresAt > this.now()) return undefined;
      try {
        const revision = await this.kv.update(key, encode(value), current.revision);
        return { key, revision, value };
      } catch (err) {
        if (isCasConflict(err)) return undefined;
        throw err;
      }
    }
    // deleted between our create and get: one more try
    try {
      const revision = await this.kv.create(key, encode(value));
      return { key, revision, value };
    } catch (err) {
      if (isCasConflict(err)) return undefined;
      throw err;
    }
  }

  /** Pushes the expiry out (long runs); false when the lock was lost. */
  async extend(handle: LockHandle, timeoutMs: number): Promise<boolean> {
    const value = { ...handle.value, expiresAt: this.now() + timeoutMs };
    try {
      handle.revision = await this.kv.update(handle.key, encode(value), handle.revision);
      handle.value = value;
      return true;
    } catch (err) {
      if (isCasConflict(err)) return false;
      throw err;
    }
  }

  async release(handle: LockHandle): Promise<void> {
    try {
      await this.kv.delete(handle.key, { previousSeq: handle.revision });
    } catch (err) {
      if (!isCasConflict(err)) throw err;
    }
  }

  async holder(key: string): Promise<LockValue | undefined> {
    const e = await this.kv.get(key);
    if (!e || e.operation !== "PUT") return undefined;
    const v = decode(e.value) as LockValue;
    return v.expiresAt > this.now() ? v : undefined;
  }
}
