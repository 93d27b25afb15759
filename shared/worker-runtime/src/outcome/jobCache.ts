/**
 * The worker's job store, keeping a copy of each recurring job it reads or writes, so that the job's later
 * fires run without a store read first.
 *
 * A fire says which store revision the leader planned it from (FireMessage.revision). A copy at least that
 * new is what a read would have found when the fire was planned, or later. What can change a job after
 * that and must stop its fire — pause, stop, remove — also sends an interrupt to the workers, which drops
 * the copy (`forget`); the next fire then reads the job and is skipped as before. Interrupts are core NATS:
 * a worker that loses its connection may miss one, so it drops every copy then (`clear`). A copy read or
 * written while any interrupt arrived is not kept: it may predate that interrupt's change.
 *
 * Once jobs are not kept: they fire once, so a copy would only be churn. Bounded by `maxJobs` (the least
 * recently read or written out first); 0 keeps nothing.
 */
import type { JobRecord, StoredJob } from "@taskjet/protocol";
import { JobStore, type KvReader } from "@taskjet/nats";

/** `<tenant>.<id>` of a store key `<tenant>.<group>.<id>` (an id is unique within its tenant). */
function idOf(key: string): string {
  return `${key.slice(0, key.indexOf("."))}.${key.slice(key.lastIndexOf(".") + 1)}`;
}

export class CachedJobStore extends JobStore {
  /** by store key, oldest write first (a copy is moved to the end when written again) */
  private readonly copies = new Map<string, StoredJob>();
  /** store key by `<tenant>.<id>`: interrupts name a job by tenant and id */
  private readonly keys = new Map<string, string>();
  /** counts forget/clear calls: a read or write that saw it change keeps no copy */
  private drops = 0;
  hits = 0;

  constructor(
    kv: ConstructorParameters<typeof JobStore>[0],
    ns: ConstructorParameters<typeof JobStore>[1],
    private readonly maxJobs: number,
    latest?: KvReader,
    /** a write got through (reach.ts) */
    private readonly written: () => void = () => undefined,
  ) {
    super(kv, ns, latest);
  }

  /** The held copy of `key` when it is at least `minRevision` new (the hot path: one map lookup). */
  cached(key: string, minRevision: number): StoredJob | undefined {
    const job = this.copies.get(key);
    if (job === undefined || job.revision < minRevision) return undefined;
    this.hits++;
    return job;
  }

  /**
   * Read-modify-write that starts from the held copy, when there is one, instead of reading the job: the
   * coalesced writes of frequent jobs (stateCoalescer.ts), whose copy the worker's last write left. A stale
   * copy fails its compare-and-set and the write reads the job as usual.
   */
  mutateFromCopy(key: string, fn: (job: StoredJob) => JobRecord | undefined): Promise<StoredJob> {
    return this.mutate(key, fn, undefined, this.copies.get(key));
  }

  override async get(key: string, minRevision?: number): Promise<StoredJob | undefined> {
    const drops = this.drops;
    const job = await super.get(key, minRevision);
    this.note(key, job, drops);
    return job;
  }

  override async latest(key: string): Promise<StoredJob | undefined> {
    const drops = this.drops;
    const job = await super.latest(key);
    this.note(key, job, drops);
    return job;
  }

  override async update(key: string, record: JobRecord, revision: number): Promise<number> {
    const drops = this.drops;
    const written = await super.update(key, record, revision);
    this.written();
    this.note(key, { ...record, revision: written }, drops);
    return written;
  }

  /** The job was paused, stopped or removed (an interrupt): its next fire reads it again. */
  forget(tenantId: string, jobId: string): void {
    this.drops++;
    const id = `${tenantId}.${jobId}`;
    const key = this.keys.get(id);
    if (key === undefined) return;
    this.keys.delete(id);
    this.copies.delete(key);
  }

  clear(): void {
    this.drops++;
    this.copies.clear();
    this.keys.clear();
  }

  private note(key: string, job: StoredJob | undefined, dropsBefore: number): void {
    if (!job || job.def.jobType === "once" || this.maxJobs === 0 || dropsBefore !== this.drops) {
      if (this.copies.delete(key)) this.keys.delete(idOf(key));
      return;
    }
    const held = this.copies.get(key);
    if (held && held.revision > job.revision) return; // a slow read lost the race to a newer write
    this.copies.delete(key);
    this.copies.set(key, job);
    this.keys.set(idOf(key), key);
    if (this.copies.size > this.maxJobs) {
      const oldest = this.copies.keys().next().value!;
      this.copies.delete(oldest);
      this.keys.delete(idOf(oldest));
    }
  }
}
