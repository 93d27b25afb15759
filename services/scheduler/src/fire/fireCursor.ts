/**
 * The global fire cursor: durable firing progress without a store write per fire.
 *
 * THE PROMISE. The leader keeps one value in the `<p>-sched` bucket, key `cursor`:
 *
 *     { epoch, firedThroughMs, jobsRevision, writtenAt, replicaId }
 *
 * and rewrites it (compare-and-set on the key's revision) every `cursorIntervalMs` (default 250 ms). It means:
 * for every job that was active in the leader's view at store revision `jobsRevision`, every nominal fire
 * at or before `firedThroughMs` has been published and acked by JetStream, or recorded as skipped (log entry
 * acked, counters written). The leader computes it as
 *
 *     firedThroughMs = max(previous, min(clock.now(), earliest due in the heap - 1, earliest busy nominal - 1))
 *
 * where "busy" entries are popped and not yet finished (publish in flight, or their per-fire write pending).
 *
 * RESUMING. A new leader (takeover, or a cold start of every process) resumes each job after its floor:
 *
 *     floor = max(in-memory high-water mark, store floor, covered ? cursor.firedThroughMs : -inf)
 *     store floor = max(state.lastFireTime, state.nextRunTime - 1 ms)
 *
 * and re-publishes every fire after it. Fires the old leader published after its last cursor write carry the
 * same Nats-Msg-Id (fireMsgId(fireIdOf(tenant, id, nominalMs), attempt)) and the run stream's duplicate window
 * (5 min) is far longer than a takeover, so JetStream stores each of them once.
 *
 * COVERAGE. A cursor only speaks for jobs the old leader knew in their current form. Each entry remembers
 * `schedRev`, the store revision of the last write that changed when it fires (creation, schedule fields,
 * maxCount, becoming active or inactive); worker writes (running, results) do not count. A job is covered when
 * schedRev <= cursor.jobsRevision. An uncovered job (queued, updated, resumed or started after the view the
 * cursor describes) resumes from its store floor only, which the API keeps right: it writes nextRunTime = the
 * first nominal to fire when it creates, updates or starts a job, and the leader writes lastFireTime and
 * nextRunTime when a job is paused, so a resume replays the pause through the misfire policy.
 * A job whose fire the leader knows is late (due before the cursor it already wrote, e.g. just resumed) would
 * make the promise false, so the leader lowers jobsRevision below that job's schedRev until it caught up.
 * On a cold load the view does not know which write changed the schedule, so schedRev = revision (uncovered
 * when written after the cursor): safe, at worst re-publishing fires the workers had not yet reported
 * (deduplicated within the window).
 *
 * PER-FIRE WRITES. Jobs with maxCount > 0, and jobs with overlapPolicy != allow or lockTimeoutSeconds > 0
 * also get a compare-and-set write of lastFireTime / triggerCount / nextRunTime after the publish ack, so
 * their fires are counted exactly and dispatched at most once even beyond the duplicate window. The write is
 * idempotent (it applies only when lastFireTime is older than the fire). Once jobs get none: the worker's
 * end-of-run write records the fire (lastFireTime, triggerCount, completed), the cursor covers the job within
 * one cursor interval of its creation, and until then a re-publish is inside the duplicate window.
 *
 * FENCING. The new leader first claims the cursor (compare-and-set with its epoch); a deposed leader's next
 * cursor write then fails on the revision check and it stops firing, as it does when its lease lapses.
 *
 * FOLLOWERS watch the key and advance their own due heap to the cursor for covered jobs, so a takeover
 * starts from a warm, nearly current heap (CPU proportional to fires, not stored jobs).
 */
import type { KV } from "@nats-io/kv";
import { decode, encode, FencedError } from "@taskjet/protocol";
import { isCasConflict } from "@taskjet/nats";
import type { JobEntry } from "../view/jobEntry.js";

export const CURSOR_KEY = "cursor";

export interface CursorValue {
  epoch: number;
  /** every fire at or before this nominal time of every covered job is published (or recorded skipped) */
  firedThroughMs: number;
  /** the store revision of the view this cursor speaks for */
  jobsRevision: number;
  writtenAt: string;
  replicaId: string;
}

/** The cursor before any leader wrote one: covers nothing. */
export const EMPTY_CURSOR: CursorValue = {
  epoch: 0,
  firedThroughMs: Number.NEGATIVE_INFINITY,
  jobsRevision: 0,
  writtenAt: "",
  replicaId: "",
};

/** True when the cursor speaks for the entry in its current form. */
export function isCovered(entry: JobEntry, cursor: CursorValue): boolean {
  return entry.schedRev <= cursor.jobsRevision;
}

function toValue(bytes: Uint8Array): CursorValue {
  const v = decode(bytes) as Partial<CursorValue> | undefined;
  return {
    epoch: v?.epoch ?? 0,
    // msgpack has no -Infinity for some readers: an absent or null cursor covers nothing
    firedThroughMs: typeof v?.firedThroughMs === "number" ? v.firedThroughMs : Number.NEGATIVE_INFINITY,
    jobsRevision: v?.jobsRevision ?? 0,
    writtenAt: v?.writtenAt ?? "",
    replicaId: v?.replicaId ?? "",
  };
}

function toBytes(v: CursorValue): Uint8Array {
  return encode({ ...v, firedThroughMs: Number.isFinite(v.firedThroughMs) ? v.firedThroughMs : null });
}

/** Reads, claims and writes the cursor with compare-and-set; one instance per replica. */
export class CursorStore {
  private revision = 0;
  private epoch = 0;

  constructor(
    private readonly kv: KV,
    private readonly key = CURSOR_KEY,
  ) {}

  async read(): Promise<{ value: CursorValue; revision: number }> {
    const e = await this.kv.get(this.key);
    if (!e || e.operation !== "PUT") return { value: EMPTY_CURSOR, revision: e?.revision ?? 0 };
    return { value: toValue(e.value), revision: e.revision };
  }

  /**
   * Takes the cursor over for `epoch`: the old leader's next write fails. Returns the value it found, which
   * the new leader resumes from. Throws FencedError when a newer leader claimed it already.
   */
  async claim(epoch: number, replicaId: string, nowIso: string): Promise<CursorValue> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const { value, revision } = await this.read();
      if (value.epoch > epoch) {
        throw new FencedError(`cursor belongs to epoch ${value.epoch}, newer than ours (${epoch})`);
      }
      const mine: CursorValue = { ...value, epoch, writtenAt: nowIso, replicaId };
      try {
        this.revision =
          revision === 0
            ? await this.kv.create(this.key, toBytes(mine))
            : await this.kv.update(this.key, toBytes(mine), revision);
        this.epoch = epoch;
        return value;
      } catch (err) {
        if (!isCasConflict(err)) throw err;
      }
    }
    throw new FencedError("could not claim the fire cursor: it keeps changing under us");
  }

  /** Writes a new value; throws FencedError when another leader wrote since our claim. */
  async write(value: CursorValue): Promise<void> {
    if (value.epoch !== this.epoch) throw new FencedError(`cursor was not claimed for epoch ${value.epoch}`);
    try {
      this.revision = await this.kv.update(this.key, toBytes(value), this.revision);
    } catch (err) {
      if (!isCasConflict(err)) throw err;
      const { value: current, revision } = await this.read();
      if (current.epoch !== this.epoch) {
        throw new FencedError(`fire cursor taken over by epoch ${current.epoch}`, { cause: err });
      }
      // our own earlier write whose ack we missed: continue from it
      this.revision = await this.kv.update(this.key, toBytes(value), revision);
    }
  }

  /** Follows the cursor (followers); returns a stop function. */
  async watch(onValue: (v: CursorValue) => void): Promise<() => void> {
    const iter = await this.kv.watch({ key: this.key });
    void (async () => {
      for await (const e of iter) {
        if (e.operation === "PUT") onValue(toValue(e.value));
      }
    })().catch(() => undefined);
    return () => iter.stop();
  }
}
