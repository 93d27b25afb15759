/**
 * The in-memory view of the job store on every replica, kept current by a KV watch. Followers keep it
 * too, so a takeover starts firing at once instead of reloading a million keys. The index knows where the
 * view stands (`revision`, the last store revision applied) so the API can read its own writes and a new
 * leader can wait until it has seen everything the old one had.
 *
 * It reads the bucket itself rather than through JobStore.watch (same semantics: every key, then every
 * change, in store order; ready after the initial snapshot) because JobStore.watch decodes inside its loop
 * without a guard: one malformed value in the bucket would end the view for good. Here such a value is
 * logged and skipped, and the stored bytes are kept as they are (see JobEntry.raw) instead of re-encoding a
 * decoded copy.
 *
 * The cold load reads the bucket's stream with loadBucket (twice as fast as a watch at a million keys; see
 * shared/nats/src/snapshot.ts), then a watch resumes at the next sequence: every write is applied once and in
 * order across the seam, and start() resolves once the load reached the stream's end as it was when it began.
 */
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { loadBucket, type BucketOperation, type StoreChange } from "@taskjet/nats";
import {
  decode,
  encode,
  finishedKind,
  type JobRecord,
  type ListFilter,
  type Retention,
  type RetentionKind,
  type StoredJob,
} from "@taskjet/protocol";
import { JobEntry, packRaw } from "./jobEntry.js";
import { fieldsOf, scanJobFields, type JobFields } from "./jobFields.js";

/** The slow path of a value the scanner does not take: the decoder decides whether it is a job at all. */
function fieldsOfDecoded(bytes: Uint8Array): JobFields {
  const record = decode(bytes) as JobRecord;
  if (!record || typeof record !== "object" || !record.def || !record.state) {
    throw new Error("not a job record");
  }
  return fieldsOf(record);
}

/** A finished job the retention sweep may remove (retentionSweeper.ts): what it needs, read once. */
export interface FinishedJob {
  entry: JobEntry;
  kind: RetentionKind;
  /** the job's own setting (resolved when it was queued); undefined for jobs stored before retention */
  policy: Retention | undefined;
  /** when it finished (the state's updatedAt) */
  atMs: number;
  type: string;
  tenant: string;
}

/** How long the index remembers a delete marker for the leader to purge (followers forget them then). */
export const MARKER_MEMORY_MS = 60_000;

export interface IndexListener {
  /** a job was stored or changed; `scheduleChanged` when the times it fires at may have changed */
  onPut(entry: JobEntry, scheduleChanged: boolean): void;
  onDelete(entry: JobEntry): void;
}

export class JobIndex {
  private readonly entries = new Map<string, JobEntry>();
  private readonly byTenant = new Map<string, Map<string, JobEntry>>();
  /**
   * each tenant's entries in key order, built by the first list after a job of the tenant was added or
   * removed (an update keeps the key, so the order): a page of a million jobs is a scan, not a sort
   */
  private readonly sortedByTenant = new Map<string, JobEntry[]>();
  /** finished jobs by key, the one that finished longest ago first */
  private readonly done = new Map<string, FinishedJob>();
  /**
   * delete markers seen lately (store revision and when), oldest first: a removed job leaves one in the
   * bucket's stream for good unless it is purged (retentionSweeper.ts); kept for MARKER_MEMORY_MS
   */
  private readonly markers = new Map<string, { revision: number; atMs: number }>();
  private stopWatch: (() => void) | undefined;
  private starting: Promise<void> | undefined;
  /** bumped by stop(): a load still running then does not start following */
  private generation = 0;
  /** the watch ended with an error (the connection closed for good): the view stops following */
  onWatchError: ((err: unknown) => void) | undefined;
  /** a stored value that is not a job record (logged by the service; the key is skipped) */
  onBadRecord: ((key: string, err: unknown) => void) | undefined;
  private waiters: { revision: number; resolve: (ok: boolean) => void }[] = [];
  private activeCount = 0;
  private nextWaiter = Number.POSITIVE_INFINITY;
  private listener: IndexListener | undefined;
  /** the highest store revision applied to this view */
  revision = 0;

  constructor(
    private readonly kv: KV,
    private readonly nc: NatsConnection,
  ) {}

  setListener(listener: IndexListener): void {
    this.listener = listener;
  }

  /** Loads every stored job and follows changes; resolves after the initial load. */
  start(): Promise<void> {
    this.starting ??= this.load().finally(() => (this.starting = undefined));
    return this.stopWatch ? Promise.resolve() : this.starting;
  }

  private async load(): Promise<void> {
    const generation = this.generation;
    const last = await loadBucket(this.nc, this.kv, (key, value, revision, op) =>
      this.applyStored(key, value, revision, op),
    );
    const iter = await this.kv.watch({ key: ">", resumeFromRevision: last + 1 });
    if (generation !== this.generation) return iter.stop();
    this.stopWatch = () => iter.stop();
    void (async () => {
      for await (const e of iter) this.applyStored(e.key, e.value, e.revision, e.operation);
    })().catch((err: unknown) => this.onWatchError?.(err));
  }

  /** One store write, from the load or the watch: applied, or logged and skipped when not a job record. */
  private applyStored(key: string, value: Uint8Array, revision: number, op: BucketOperation): void {
    try {
      if (op === "PUT") this.applyPut(key, value, revision, true);
      else this.apply({ kind: "delete", key, revision });
    } catch (err) {
      this.onBadRecord?.(key, err);
      this.advance(revision);
    }
  }

  stop(): void {
    this.generation++;
    this.stopWatch?.();
    this.stopWatch = undefined;
    for (const w of this.waiters) w.resolve(false);
    this.waiters = [];
    this.nextWaiter = Number.POSITIVE_INFINITY;
  }

  get size(): number {
    return this.entries.size;
  }

  get active(): number {
    return this.activeCount;
  }

  get(key: string): JobEntry | undefined {
    return this.entries.get(key);
  }

  /** A job by tenant and id, whatever its group (ids are unique per tenant). */
  byId(tenant: string, id: string): JobEntry | undefined {
    return this.byTenant.get(tenant)?.get(id);
  }

  all(): IterableIterator<JobEntry> {
    return this.entries.values();
  }

  /** Delete markers seen in the last MARKER_MEMORY_MS, oldest first (the purge takes them out). */
  deleteMarkers(): Map<string, { revision: number; atMs: number }> {
    return this.markers;
  }

  /** Finished jobs (completed, or abandoned), the one that finished longest ago first. */
  finished(): IterableIterator<FinishedJob> {
    return this.done.values();
  }

  /** Resolves true once the view has applied `revision`, false after `timeoutMs` (no limit when omitted). */
  waitForRevision(revision: number, timeoutMs?: number): Promise<boolean> {
    if (this.revision >= revision) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const waiter = { revision, resolve: (ok: boolean) => resolve(ok) };
      this.waiters.push(waiter);
      if (revision < this.nextWaiter) this.nextWaiter = revision;
      if (timeoutMs === undefined) return;
      setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(this.revision >= revision);
      }, timeoutMs).unref();
    });
  }

  /** Waits until the view holds every write stored so far (read-your-writes for the API). */
  async catchUp(timeoutMs: number): Promise<boolean> {
    const status = await this.kv.status();
    return this.waitForRevision(status.streamInfo.state.last_seq, timeoutMs);
  }

  /** Jobs of a tenant that match a filter, ordered by key (group, then id) for stable paging. */
  list(tenant: string, filter: ListFilter): readonly JobEntry[] {
    const jobs = this.sorted(tenant);
    const { status, group, type, jobType, node, name: anyName } = filter;
    if ([status, group, type, jobType, node, anyName].every((v) => v === undefined)) return jobs;
    const name = filter.name?.toLowerCase();
    const maybeNamed = name === undefined ? undefined : namePrefilter(name);
    const out: JobEntry[] = [];
    for (const e of jobs) {
      if (filter.status !== undefined && e.status !== filter.status) continue;
      if (filter.group !== undefined && e.group !== filter.group) continue;
      if (filter.type !== undefined && e.type !== filter.type) continue;
      if (filter.jobType !== undefined && e.jobType !== filter.jobType) continue;
      if (filter.node !== undefined && e.nodeName !== filter.node) continue;
      if (name !== undefined) {
        // decoding every record to read its name costs seconds at 100,000 jobs: look at the bytes first
        if (maybeNamed && !maybeNamed(e.raw)) continue;
        if (!e.peek().def.name.toLowerCase().includes(name)) continue;
      }
      out.push(e);
    }
    return out;
  }

  private sorted(tenant: string): JobEntry[] {
    let sorted = this.sortedByTenant.get(tenant);
    if (!sorted) {
      sorted = [...(this.byTenant.get(tenant)?.values() ?? [])].sort((a, b) =>
        a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
      );
      this.sortedByTenant.set(tenant, sorted);
    }
    return sorted;
  }

  /** Applies a version this replica wrote itself (the watch echo that follows is then ignored). */
  applyLocal(key: string, job: StoredJob): void {
    // not a watch delivery: writes of others before it may still be on their way, so `revision` stays
    const entry = this.entries.get(key);
    if (entry && job.revision <= entry.revision) return;
    this.applyPut(key, encode({ def: job.def, state: job.state }), job.revision, false);
  }

  private applyPut(key: string, bytes: Uint8Array, revision: number, fromWatch: boolean): void {
    let entry = this.entries.get(key);
    if (entry && revision <= entry.revision) {
      if (fromWatch) this.advance(revision);
      return;
    }
    const fields = scanJobFields(bytes) ?? fieldsOfDecoded(bytes);
    const raw = packRaw(bytes);
    const isNew = !entry;
    if (!entry) {
      entry = new JobEntry(key);
      this.entries.set(key, entry);
      this.sortedByTenant.delete(entry.tenant);
      let tenant = this.byTenant.get(entry.tenant);
      if (!tenant) this.byTenant.set(entry.tenant, (tenant = new Map()));
      tenant.set(entry.id, entry);
    }
    const wasActive = !isNew && entry.active;
    const scheduleChanged = entry.apply(fields, raw, revision);
    this.activeCount += (entry.active ? 1 : 0) - (wasActive ? 1 : 0);
    this.noteFinished(entry, fields);
    if (fromWatch) this.advance(revision);
    this.listener?.onPut(entry, scheduleChanged);
  }

  private apply(change: Extract<StoreChange, { kind: "delete" }>): void {
    const entry = this.entries.get(change.key);
    if (entry) {
      this.entries.delete(change.key);
      this.sortedByTenant.delete(entry.tenant);
      const tenant = this.byTenant.get(entry.tenant);
      if (tenant?.get(entry.id) === entry) tenant.delete(entry.id);
      if (tenant?.size === 0) this.byTenant.delete(entry.tenant);
      if (entry.active) this.activeCount--;
      this.done.delete(change.key);
      entry.deleted = true;
      entry.forget();
      this.listener?.onDelete(entry);
    }
    this.noteMarker(change.key, change.revision);
    this.advance(change.revision);
  }

  private noteMarker(key: string, revision: number): void {
    const now = Date.now();
    this.markers.delete(key);
    this.markers.set(key, { revision, atMs: now });
    for (const [k, m] of this.markers) {
      if (now - m.atMs <= MARKER_MEMORY_MS) break;
      this.markers.delete(k);
    }
  }

  /**
   * Keeps `done` in step: a job that finished goes (back) to its end; one active again leaves it. What it
   * needs (the kind of end, the job's setting, when it ended) was read with the index's fields: a finished
   * job's record is not decoded again (at queue rates, every kept once job passes through here).
   */
  private noteFinished(entry: JobEntry, f: JobFields): void {
    const kind = entry.status === "completed" || entry.status === "stopped" ? finishedKind(f) : undefined;
    if (kind === undefined) {
      if (this.done.size > 0) this.done.delete(entry.key);
      return;
    }
    this.done.delete(entry.key);
    this.done.set(entry.key, {
      entry,
      kind,
      policy: f[kind],
      atMs: f.updatedAtMs,
      type: f.type,
      tenant: entry.tenant,
    });
  }

  private advance(revision: number): void {
    if (revision > this.revision) this.revision = revision;
    // checked a million times on a cold load: only look at the waiters when the earliest one is due
    if (this.revision < this.nextWaiter) return;
    this.nextWaiter = Math.min(
      Number.POSITIVE_INFINITY,
      ...this.waiters.filter((w) => w.revision > this.revision).map((w) => w.revision),
    );
    const done = this.waiters.filter((w) => w.revision <= this.revision);
    if (done.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.revision > this.revision);
    for (const w of done) w.resolve(true);
  }
}

/**
 * A cheap first look for a name search on a record's stored bytes (msgpack, held as latin1): for an ASCII
 * needle, a record whose bytes do not contain it (ASCII case-insensitively) cannot have a name containing
 * it, except through the two characters whose lowercase is ASCII: U+0130 (to "i" and a combining dot) and
 * U+212A KELVIN SIGN (to "k"); a record with either goes on to the exact check too. Undefined for a
 * non-ASCII needle: every record is checked exactly.
 */
function namePrefilter(needle: string): ((raw: string) => boolean) | undefined {
  // eslint-disable-next-line no-control-regex -- the ASCII range is the point
  if (!/^[\x00-\x7f]*$/.test(needle)) return undefined;
  const re = new RegExp(needle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "i");
  if (!/[ik]/i.test(needle)) return (raw) => re.test(raw);
  return (raw) => re.test(raw) || LOWERS_TO_ASCII.test(raw);
}
/** the UTF-8 bytes (as latin1) of U+0130 and U+212A */
const LOWERS_TO_ASCII = /\xc4\xb0|\xe2\x84\xaa/;
