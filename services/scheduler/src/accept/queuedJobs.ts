/**
 * Fast-lane jobs that wait in the run stream (protocol fastJob.ts): the scheduler holds nothing of them, so
 * the API reads them from the stream when it asks about a job the store does not have.
 *
 *   find    STREAM.MSG.GET last_by_subj `<p>.run.<tenant>.*.*.*.<jobId>` (the stream leader: a message just
 *           acknowledged is seen), decoded; a fire there (hand-made on a job's subject) is not a fast-lane job
 *   ids     STREAM.INFO subjects_filter `<p>.run.<tenant>.>`: every queued message's subject, so every
 *           queued job id of the tenant (with its node, type and priority), without reading the messages;
 *           scheduler fires share one subject per node, type and priority (`...=fire`) and are passed over
 *   remove  STREAM.MSG.DELETE by sequence
 *
 * A fast-lane job shows as `queuing` until its run ends (the message is acked then); a run in progress is not
 * tracked, by design: its message is its record.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import {
  decode,
  encodingOf,
  parseFastJobOnSubject,
  parseRunSubject,
  type JobDefinition,
  type Namespace,
} from "@taskjet/protocol";

export interface QueuedJob {
  def: JobDefinition;
  /** the message's stream sequence (what `remove` deletes) */
  seq: number;
  /** when the stream stored it: the job's acceptance */
  acceptedMs: number;
}

/** A queued message's subject, parsed: enough to filter by node, type and priority before reading it. */
export interface QueuedSubject {
  subject: string;
  jobId: string;
  node: string | undefined;
  type: string;
}

export class QueuedJobs {
  constructor(
    private readonly jsm: JetStreamManager,
    private readonly ns: Namespace,
  ) {}

  /** The tenant's queued fast-lane job `id`, or undefined (none, or only a fire of a stored job). */
  async find(tenant: string, id: string): Promise<QueuedJob | undefined> {
    const m = await this.jsm.streams.getMessage(this.ns.streams.run, {
      last_by_subj: this.ns.runOfJob(tenant, id),
    });
    if (!m) return undefined;
    return this.decode(m.subject, m.data, m.header?.get("Content-Type"), m.seq, m.time.getTime());
  }

  /** The subjects of every message of the tenant in the run stream, sorted by job id. */
  async subjects(tenant: string): Promise<QueuedSubject[]> {
    // an empty stream (the common case between bursts) costs one small info, not a subject listing
    if ((await this.jsm.streams.info(this.ns.streams.run)).state.messages === 0) return [];
    const info = await this.jsm.streams.info(this.ns.streams.run, {
      subjects_filter: this.ns.runOfTenant(tenant),
    });
    const out: QueuedSubject[] = [];
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      const s = parseRunSubject(this.ns, subject);
      // a scheduler fire's subject (no job id) holds no fast-lane job
      if (s?.jobId !== undefined) out.push({ subject, jobId: s.jobId, node: s.node, type: s.type });
    }
    return out.sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0));
  }

  /** Reads the queued job of `s` (undefined: gone meanwhile, or a fire). */
  async read(s: QueuedSubject): Promise<QueuedJob | undefined> {
    const m = await this.jsm.streams.getMessage(this.ns.streams.run, { last_by_subj: s.subject });
    if (!m) return undefined;
    return this.decode(m.subject, m.data, m.header?.get("Content-Type"), m.seq, m.time.getTime());
  }

  /** Deletes a queued job's message; false when it is gone already (run, or removed). */
  async remove(q: QueuedJob): Promise<boolean> {
    return this.jsm.streams.deleteMessage(this.ns.streams.run, q.seq, false).catch(() => false);
  }

  private decode(
    subject: string,
    data: Uint8Array,
    contentType: string | undefined,
    seq: number,
    acceptedMs: number,
  ): QueuedJob | undefined {
    try {
      // JSON from a client that left out Content-Type is recognised by its `{`, as the worker does
      const value = decode(data, data[0] === 0x7b ? "json" : encodingOf(contentType));
      if (value === null || typeof value !== "object" || "fireId" in value) return undefined;
      return { def: parseFastJobOnSubject(value, subject), seq, acceptedMs };
    } catch {
      // malformed: a worker dead-letters it; it is no job to show
      return undefined;
    }
  }
}
