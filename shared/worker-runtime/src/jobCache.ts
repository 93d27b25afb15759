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
 * Once jobs are not kept: they fire once, so a copy would only be churn. Bounded by `maxJobs` (least
 * recently used out first); 0 keeps nothing.
 */
import type { JobRecord, StoredJob } from "@taskjet/protocol";
import { JobStore } from "@taskjet/nats";

interface Copy {
  key: string;
  job: StoredJob;
}

/** `<tenant>.<id>` of a store key `<tenant>.<group>.<id>` (an id is unique within its tenant). */
function idOf(key: string): string {
  return `${key.slice(0, key.indexOf("."))}.${key.slice(key.lastIndexOf(".") + 1)}`;
}

export class CachedJobStore extends JobStore {
  /** by `<tenant>.<id>`; Map order is recency (a hit moves the entry to the end) */
  private readonly copies = new Map<string, Copy>();
  /** counts forget/clear calls: a read or write that saw it change keeps no copy */
  private drops = 0;
  hits = 0;

  constructor(
    kv: ConstructorParameters<typeof JobStore>[0],
    ns: ConstructorParameters<typeof JobStore>[1],
    private readonly maxJobs: number,
  ) {
    super(kv, ns);
  }

  get size(): number {
    return this.copies.size;
  }

  /** The held copy of `key` when it is at least `minRevision` new. */
  cached(key: string, minRevision: number): StoredJob | undefined {
    const id = idOf(key);
    const c = this.copies.get(id);
    if (!c || c.key !== key || c.job.revision < minRevision) return undefined;
    this.copies.delete(id);
    this.copies.set(id, c);
    this.hits++;
    return c.job;
  }

  override async get(key: string): Promise<StoredJob | undefined> {
    const drops = this.drops;
    const job = await super.get(key);
    this.note(key, job, drops);
    return job;
  }

  override async update(key: string, record: JobRecord, revision: number): Promise<number> {
    const drops = this.drops;
    const written = await super.update(key, record, revision);
    this.note(key, { ...record, revision: written }, drops);
    return written;
  }

  /** The job was paused, stopped or removed (an interrupt): its next fire reads it again. */
  forget(tenantId: string, jobId: string): void {
    this.drops++;
    this.copies.delete(`${tenantId}.${jobId}`);
  }

  clear(): void {
    this.drops++;
    this.copies.clear();
  }

  private note(key: string, job: StoredJob | undefined, dropsBefore: number): void {
    const id = idOf(key);
    if (!job || job.def.jobType === "once" || this.maxJobs === 0 || dropsBefore !== this.drops) {
      this.copies.delete(id);
      return;
    }
    const held = this.copies.get(id);
    if (held && held.key === key && held.job.revision > job.revision) return; // a slow read lost the race
    this.copies.delete(id);
    this.copies.set(id, { key, job });
    if (this.copies.size > this.maxJobs) this.copies.delete(this.copies.keys().next().value!);
  }
}
