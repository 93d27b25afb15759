/**
 * One job in the in-memory index, kept small: a million stored schedules must fit in well under 1.5 GiB.
 * A decoded `{def, state}` costs ~1.5 KB of heap; the entry keeps the scalars the timekeeper needs (~0.5 KB
 * with shared policy objects) plus the stored msgpack bytes, decoded again only to build a fire or answer
 * the API. The bytes are held as a latin1 string: a million small ArrayBuffers would cost ~300 B each in
 * backing-store bookkeeping, a one-byte string costs 16.
 */
import {
  ACTIVE_STATUSES,
  decode,
  jobStatuses,
  nameOfToken,
  parseJobKey,
  schedulerCountsFires,
  type JobRecord,
  type JobStatus,
  type MisfirePolicy,
  type OverlapPolicy,
} from "@taskjet/protocol";
import { fieldsOf, type JobFields } from "./jobFields.js";
import { JobSchedule } from "./schedule.js";

const NONE = Number.NaN;
const NEG_INF = Number.NEGATIVE_INFINITY;

// Decoded strings are fresh copies per record; interning keeps one copy of each repeated value.
const pool = new Map<string, string>();
function intern(s: string): string;
function intern(s: string | undefined): string | undefined;
function intern(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  const hit = pool.get(s);
  if (hit !== undefined) return hit;
  if (pool.size < 100_000) pool.set(s, s);
  return s;
}
const statusOf = new Map<string, JobStatus>(jobStatuses.map((s) => [s, s]));

/** Bytes as a latin1 string (a copy: the source may be a view into a network buffer). */
export function packRaw(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

export function unpackRaw(raw: string): Uint8Array {
  return Buffer.from(raw, "latin1");
}

/**
 * Decoding a record for every fire costs more than publishing it. Jobs that fire often keep their decoded
 * record; the cache is bounded (oldest out first) so a million rarely-firing jobs stay compact. It holds only
 * entries whose `hot` is set: a new stored version or a delete takes the entry out (`drop`), so a removed
 * job is not kept alive here, and reads that are not fires (bookkeeping of finished jobs: `peek`) do not
 * enter it. (Before the tenth session every finished once job entered it: 50,000 finished jobs, about
 * 300 MiB, held by a scheduler under 500 once jobs a second; bench/RESULTS.md.)
 */
const HOT_LIMIT = 50_000;
const hotRecords = {
  order: new Set<JobEntry>(),
  add(e: JobEntry, r: JobRecord): void {
    e.hot = r;
    this.order.delete(e);
    this.order.add(e);
    if (this.order.size > HOT_LIMIT) {
      const oldest = this.order.values().next().value;
      if (oldest) {
        oldest.hot = undefined;
        this.order.delete(oldest);
      }
    }
  },
  drop(e: JobEntry): void {
    if (e.hot === undefined) return;
    e.hot = undefined;
    this.order.delete(e);
  },
};

/** How many decoded records the cache holds (tests: finished and removed jobs must not stay in it). */
export function hotRecordCount(): number {
  return hotRecords.order.size;
}

/** Where an entry is in its life on this replica. */
export const Slot = {
  /** not waiting for anything (inactive, finished, or no schedule) */
  Idle: 0,
  /** in the due heap */
  Heap: 1,
  /** popped: its fires are being published or its bookkeeping written */
  Busy: 2,
  /** follower only: due before the cursor but not covered by it (see fireCursor.ts) */
  Parked: 3,
} as const;
export type Slot = (typeof Slot)[keyof typeof Slot];

/** The policy part of a definition; few distinct combinations exist, so entries share these objects. */
interface JobPolicy {
  readonly jobType: string;
  readonly maxCount: number;
  readonly misfirePolicy: MisfirePolicy;
  readonly overlapPolicy: OverlapPolicy;
  readonly lockTimeoutSeconds: number;
  readonly catchUpWindowMs: number;
  readonly trackRunning: boolean;
  readonly tracked: boolean;
}
const policies = new Map<string, JobPolicy>();
function policyOf(def: JobFields): JobPolicy {
  const jobType = def.jobType ?? "once";
  const maxCount = def.maxCount ?? 0;
  const misfirePolicy = def.misfirePolicy ?? "fireOnce";
  const overlapPolicy = def.overlapPolicy ?? "allow";
  const lockTimeoutSeconds = def.lockTimeoutSeconds ?? 0;
  const catchUpWindowMs = (def.catchUpWindowSeconds ?? 3600) * 1000;
  const key = `${jobType}|${maxCount}|${misfirePolicy}|${overlapPolicy}|${lockTimeoutSeconds}|${catchUpWindowMs}`;
  let p = policies.get(key);
  if (!p) {
    const trackRunning = overlapPolicy !== "allow" || lockTimeoutSeconds > 0;
    p = {
      jobType,
      maxCount,
      misfirePolicy,
      overlapPolicy,
      lockTimeoutSeconds,
      catchUpWindowMs,
      trackRunning,
      tracked: schedulerCountsFires({ jobType, maxCount, overlapPolicy, lockTimeoutSeconds }),
    };
    if (policies.size < 10_000) policies.set(key, p);
  }
  return p;
}

/** State fields that are usually at their defaults: allocated only when one is not. */
interface Rare {
  tryCount: number;
  retryAtMs: number;
  runningCount: number;
  bufferedMs: number;
  scheduleError: string | undefined;
}

export class JobEntry {
  readonly key: string;
  readonly tenant: string;
  readonly group: string;
  readonly id: string;
  /** the stored record's msgpack bytes, one char per byte (see packRaw) */
  raw!: string;
  revision = 0;
  /** revision of the last write that changed when the job fires (schedule, activity); see fireCursor.ts */
  schedRev = 0;
  schedule: JobSchedule | undefined;
  policy!: JobPolicy;
  status: JobStatus = "none";
  type!: string;
  nodeName: string | undefined;
  triggerCount = 0;
  lastFireMs = NONE;
  nextRunMs = NONE;
  private rare: Rare | undefined;

  /** next nominal (or retry) time this replica expects; Infinity when none */
  due = Number.POSITIVE_INFINITY;
  /** true when `due` is a retry of the last fire, not a schedule fire */
  dueIsRetry = false;
  /** high-water mark: the last nominal time fired or consumed; nothing at or before it fires again */
  hwm = NEG_INF;
  heapIndex = -1;
  slot: Slot = Slot.Idle;
  /** set while busy when the store changed under us: re-plan when the work is done */
  dirty = false;
  deleted = false;
  /** decoded record kept while the entry is among the recently fired (bounded, see hotRecords) */
  hot: JobRecord | undefined;

  constructor(key: string) {
    this.key = key;
    const parts = parseJobKey(key) ?? { tenant: "_", group: "_", id: key };
    this.tenant = intern(parts.tenant);
    // the key carries the group's token (protocol names.ts); filters compare the name as written
    this.group = intern(nameOfToken(parts.group) ?? parts.group);
    this.id = parts.id;
  }

  get jobType(): string {
    return this.policy.jobType;
  }
  get maxCount(): number {
    return this.policy.maxCount;
  }
  get misfirePolicy(): MisfirePolicy {
    return this.policy.misfirePolicy;
  }
  get overlapPolicy(): OverlapPolicy {
    return this.policy.overlapPolicy;
  }
  get lockTimeoutSeconds(): number {
    return this.policy.lockTimeoutSeconds;
  }
  get catchUpWindowMs(): number {
    return this.policy.catchUpWindowMs;
  }
  get tryCount(): number {
    return this.rare?.tryCount ?? 0;
  }
  get retryAtMs(): number {
    return this.rare?.retryAtMs ?? NONE;
  }
  get runningCount(): number {
    return this.rare?.runningCount ?? 0;
  }
  get bufferedMs(): number {
    return this.rare?.bufferedMs ?? NONE;
  }
  get scheduleError(): string | undefined {
    return this.rare?.scheduleError;
  }

  get active(): boolean {
    return ACTIVE_STATUSES.has(this.status);
  }

  /**
   * A fire of this job gets a per-fire store write (promise: at most once across leader changes):
   * counted jobs and jobs whose runs are tracked. The rest (once jobs included) rely on the global cursor
   * and the worker's end-of-run write (see schedulerCountsFires).
   */
  get tracked(): boolean {
    return this.policy.tracked;
  }

  get trackRunning(): boolean {
    return this.policy.trackRunning;
  }

  /** The floor the store itself proves: nothing at or before it may fire (see fireCursor.ts). */
  storeFloor(): number {
    let f = NEG_INF;
    if (!Number.isNaN(this.lastFireMs)) f = this.lastFireMs;
    if (!Number.isNaN(this.nextRunMs) && this.nextRunMs - 1 > f) f = this.nextRunMs - 1;
    return f;
  }

  /** The stored record, decoded (cached for entries that fire often; see hotRecords). */
  record(): JobRecord {
    if (this.hot) return this.hot;
    const r = decode(unpackRaw(this.raw)) as JobRecord;
    hotRecords.add(this, r);
    return r;
  }

  /** The stored record, decoded without entering the cache: for reads that are not fires. */
  peek(): JobRecord {
    return this.hot ?? (decode(unpackRaw(this.raw)) as JobRecord);
  }

  /** The entry left the index (its job was deleted): its decoded record, if cached, goes. */
  forget(): void {
    hotRecords.drop(this);
  }

  /**
   * Applies a stored version (its fields, or the decoded record); returns whether the times it fires at
   * changed (see `schedRev`).
   */
  apply(job: JobFields | JobRecord, raw: string, revision: number): boolean {
    const f = "def" in job ? fieldsOf(job) : job;
    const first = this.revision === 0;
    const wasActive = !first && this.active;
    const oldSchedule = this.schedule;
    const oldMaxCount = first ? 0 : this.maxCount;

    this.raw = raw;
    hotRecords.drop(this);
    this.revision = revision;
    this.status = statusOf.get(f.status) ?? "none";
    this.policy = policyOf(f);
    this.type = intern(f.type);
    this.nodeName = intern(f.nodeName);
    this.triggerCount = f.triggerCount ?? 0;
    this.lastFireMs = f.lastFireMs;
    this.nextRunMs = f.nextRunMs;
    const tryCount = f.tryCount ?? 0;
    const runningCount = f.runningCount;
    const rare = tryCount > 0 || runningCount > 0 || f.hasRetryOrBuffer;
    this.rare = rare
      ? { tryCount, runningCount, retryAtMs: f.retryAtMs, bufferedMs: f.bufferedMs, scheduleError: undefined }
      : undefined;

    try {
      const created = Number.isNaN(f.createdAtMs) ? 0 : f.createdAtMs;
      // most writes (workers) leave the schedule alone: keep the old object rather than rebuild it
      this.schedule = this.schedule?.matches(f, created) ? this.schedule : new JobSchedule(f, created);
    } catch (err) {
      // written by something that skipped validation: keep the job visible, never fire it
      this.schedule = undefined;
      this.rare = {
        tryCount,
        runningCount,
        retryAtMs: f.retryAtMs,
        bufferedMs: f.bufferedMs,
        scheduleError: (err as Error).message,
      };
    }
    const changed =
      first ||
      wasActive !== this.active ||
      oldMaxCount !== this.maxCount ||
      !(this.schedule?.sameAs(oldSchedule) ?? oldSchedule === undefined);
    if (changed) this.schedRev = revision;
    return changed;
  }
}
