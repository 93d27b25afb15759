/**
 * The KV job store (the seed's IJobStore): bucket `<p>-jobs`, key `<tenant>.<group>.<id>`, value a msgpack
 * `{ def, state }`. Every write is compare-and-set on the key's revision, so the scheduler, the workers and
 * the API never overwrite each other's updates; `mutate` re-reads and re-applies on a lost race.
 *
 * Reads on a replicated bucket: a direct get may be answered by a replica that has not yet applied the
 * latest write, so a job written a millisecond ago can read as missing (issue 13: accepted once jobs were
 * skipped as "removed"). A read that finds no job, a delete marker or a revision older than the caller
 * knows exists is asked again of the stream leader (`latest`), which has applied every acknowledged write;
 * so is the re-read after a lost compare-and-set. A missing job is never taken on one replica's word.
 *
 * A write the server refuses for lack of room (the bucket at its max bytes, JetStream's storage used up)
 * is a ResourceExhaustedError (RESOURCE_EXHAUSTED, retryable), not an anonymous JetStream error.
 */
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import type { KV, KvEntry } from "@nats-io/kv";
import {
  ConflictError,
  ResourceExhaustedError,
  decode,
  encode,
  type JobRecord,
  type Namespace,
  NotFoundError,
  type StoredJob,
} from "@taskjet/protocol";
import type { KvReader } from "./leanKv.js";

export function encodeRecord(record: JobRecord): Uint8Array {
  return encode(record);
}

export function decodeRecord(bytes: Uint8Array): JobRecord {
  return decode(bytes) as JobRecord;
}

/**
 * JetStream API error codes (the server's err_code) that mean "no room": 10023 insufficient resources (the
 * server's max_file_store / max_memory_store reached), 10028 insufficient memory resources, 10047
 * insufficient storage resources, 10077 stream store failed (what a bucket at its max_bytes or max_msgs
 * answers a write, "maximum bytes exceeded").
 */
const NO_ROOM_CODES: ReadonlySet<number> = new Set([10023, 10028, 10047, 10077]);

/** The server's err_code of a JetStream API error (nats.js' or the lean KV path's, the same type), if it is one. */
export function jsErrCode(err: unknown): number | undefined {
  return err instanceof JetStreamApiError ? err.code : undefined;
}

/** True when the server refused a write because the bucket or JetStream's storage is full. */
export function isStoreFull(err: unknown): boolean {
  const code = jsErrCode(err);
  return code !== undefined && NO_ROOM_CODES.has(code);
}

function storeFull(key: string, err: unknown): ResourceExhaustedError {
  const reason = err instanceof Error ? err.message : String(err);
  return new ResourceExhaustedError(
    `the job store has no room to write ${key} (${reason}): retry later, remove finished jobs, or ask the ` +
      "operator to raise the bucket's max bytes or JetStream's storage",
    { cause: err, details: { jsErrCode: jsErrCode(err) } },
  );
}

/**
 * True when a KV write lost a compare-and-set: JetStream API error 10071 (wrong last sequence; also what
 * kv.create answers for a key that exists) or 10164 (its variant when the last sequence is unknown).
 */
export function isCasConflict(err: unknown): boolean {
  const code = jsErrCode(err);
  return (
    code === JetStreamApiCodes.StreamWrongLastSequence ||
    code === JetStreamApiCodes.StreamWrongLastSequenceUnknown
  );
}

export type StoreChange =
  { kind: "put"; key: string; job: StoredJob } | { kind: "delete"; key: string; revision: number };

export interface WatchHandle {
  /** resolves once every stored job has been delivered (the cold load) */
  ready: Promise<void>;
  stop(): void;
}

export class JobStore {
  private readonly readLatest: KvReader;

  /**
   * `latest` reads a key from the bucket stream's leader (leanKv.ts leaderGetter); without it, `kv.get`
   * stands in (enough on a single server, where no replica can lag).
   */
  constructor(
    readonly kv: KV,
    readonly ns: Namespace,
    latest?: KvReader,
  ) {
    this.readLatest = latest ?? ((key) => this.kv.get(key));
  }

  keyOf(record: JobRecord): string {
    return this.ns.jobKey(record.def);
  }

  /**
   * The job, or `undefined` when the stream leader confirms it does not exist. `minRevision`: a revision
   * the caller knows the job reached (a fire's planned revision); an older answer is read again from the
   * leader.
   */
  async get(key: string, minRevision = 0): Promise<StoredJob | undefined> {
    const e = await this.kv.get(key);
    // a deleted key answers with its delete marker: that is "no job", not an empty one
    if (e && e.operation === "PUT" && e.revision >= minRevision) return toStored(e);
    return this.latest(key);
  }

  /** The job as the stream leader has it: every acknowledged write included. */
  async latest(key: string): Promise<StoredJob | undefined> {
    const e = await this.readLatest(key);
    return e && e.operation === "PUT" ? toStored(e) : undefined;
  }

  /** Finds a job's key by tenant and id when its group is not known. */
  async findKey(tenant: string, id: string): Promise<string | undefined> {
    const keys = await this.kv.keys(this.ns.jobKeyFilter({ tenant, id }));
    for await (const k of keys) return k;
    return undefined;
  }

  /** Stores a new job; `undefined` when the key exists already (the seed's Queue is a no-op then). */
  async create(record: JobRecord): Promise<number | undefined> {
    try {
      return await this.kv.create(this.keyOf(record), encodeRecord(record));
    } catch (err) {
      if (isCasConflict(err)) return undefined;
      if (isStoreFull(err)) throw storeFull(this.keyOf(record), err);
      throw err;
    }
  }

  /** Compare-and-set write; throws ConflictError when someone else wrote since `revision`. */
  async update(key: string, record: JobRecord, revision: number): Promise<number> {
    try {
      return await this.kv.update(key, encodeRecord(record), revision);
    } catch (err) {
      if (isCasConflict(err)) {
        throw new ConflictError(`job ${key} changed since revision ${revision}`, { cause: err });
      }
      if (isStoreFull(err)) throw storeFull(key, err);
      throw err;
    }
  }

  /**
   * Read-modify-write with retries: `fn` gets the current job and returns the new record, or `undefined`
   * to leave it unchanged. Returns the job as written (or as found when unchanged). `known`: a copy of the
   * job believed current, tried first instead of a read (a stale copy only costs the failed compare-and-set
   * and a read).
   */
  async mutate(
    key: string,
    fn: (job: StoredJob) => JobRecord | undefined,
    maxAttempts = 20,
    known?: StoredJob,
  ): Promise<StoredJob> {
    for (let attempt = 1; ; attempt++) {
      // after a lost compare-and-set, the leader's copy: a replica's may be the one that just lost
      const current = attempt === 1 ? (known ?? (await this.get(key))) : await this.latest(key);
      if (!current) throw new NotFoundError(`job ${key} does not exist`, { field: "id" });
      const next = fn(current);
      if (!next) return current;
      try {
        const revision = await this.update(key, next, current.revision);
        return { ...next, revision };
      } catch (err) {
        if (!(err instanceof ConflictError) || attempt >= maxAttempts) throw err;
      }
    }
  }

  /** Deletes a job; with `revision`, only if nobody wrote since. */
  async remove(key: string, revision?: number): Promise<void> {
    try {
      await this.kv.delete(key, revision === undefined ? undefined : { previousSeq: revision });
    } catch (err) {
      if (isCasConflict(err)) throw new ConflictError(`job ${key} changed since revision ${revision}`);
      if (isStoreFull(err)) throw storeFull(key, err);
      throw err;
    }
  }

  /**
   * Streams every job and then every change. `onChange` is called in store order; `ready` resolves after
   * the initial snapshot (an empty bucket is ready at once).
   */
  async watch(onChange: (c: StoreChange) => void, filter = ">"): Promise<WatchHandle> {
    const iter = await this.kv.watch({ key: filter });
    let markReady!: () => void;
    const ready = new Promise<void>((r) => (markReady = r));
    // nats.js marks the last entry of the initial snapshot with isUpdate; an empty snapshot has no entry
    if (!(await anyKeys(this.kv, filter))) markReady();
    void (async () => {
      for await (const e of iter) {
        if (e.operation === "PUT") onChange({ kind: "put", key: e.key, job: toStored(e) });
        else onChange({ kind: "delete", key: e.key, revision: e.revision });
        if (e.isUpdate) markReady();
      }
    })();
    return { ready, stop: () => iter.stop() };
  }

  /** Every stored job matching a key filter (a snapshot; use `watch` to follow changes). */
  async list(filter = ">"): Promise<StoredJob[]> {
    return (await listEntries(this.kv, filter)).map(toStored);
  }
}

/** A snapshot of the live entries under a key filter, each key once (empty filter results end at once). */
export async function listEntries(kv: KV, filter = ">"): Promise<KvEntry[]> {
  const latest = new Map<string, KvEntry>();
  const iter = await kv.watch({ key: filter });
  if (await anyKeys(kv, filter)) {
    for await (const e of iter) {
      if (e.operation === "PUT") latest.set(e.key, e);
      else latest.delete(e.key);
      if (e.isUpdate) break;
    }
  }
  iter.stop();
  return [...latest.values()];
}

/**
 * Whether any live key matches `filter` (nats.js' keys() ends at once when none does), asked after the watch
 * was made: a key written in between reaches the watch as an update, which ends the snapshot all the same.
 * A watch tells nothing of an empty snapshot through its public API (its pending count is a private field).
 */
async function anyKeys(kv: KV, filter: string): Promise<boolean> {
  const keys = await kv.keys(filter);
  for await (const _key of keys) {
    keys.stop();
    return true;
  }
  return false;
}

function toStored(e: KvEntry): StoredJob {
  return { ...decodeRecord(e.value), revision: e.revision };
}
