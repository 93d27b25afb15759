/**
 * The dead letters of the gateway's tenant, read straight from the `<p>-dlq` stream (subjects
 * `<p>.dlq.<tenant>.<jobId>`, written by workers; the control API has no dead-letter ops):
 *
 *   count         stream info with a subject filter (per-subject counts, summed)
 *   list          message get by sequence with `next_by_subj` (the tenant's subjects only), oldest first
 *   get / remove  message get / delete by sequence; a sequence of another tenant is NOT_FOUND
 *
 * Requeue (routes/dashboard.ts) asks the scheduler to trigger the letter's job (a fresh fire, as
 * `taskjet trigger` does) and then removes the letter: nothing here publishes to the run stream.
 * NATS permissions of the gateway role: STREAM.INFO, STREAM.MSG.GET, STREAM.MSG.DELETE of `<p>-dlq`.
 */
import { JetStreamApiError, type JetStreamManager, type StoredMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { jetStreamManagerOnce } from "@taskjet/nats";
import {
  decode,
  DeadLetterSchema,
  encodingOf,
  NotFoundError,
  type DeadLetter,
  type DeadLetterPage,
  type DeadLetterView,
  type Namespace,
} from "@taskjet/protocol";

export class DeadLetterStore {
  private readonly jsm: () => Promise<JetStreamManager>;

  constructor(
    nc: NatsConnection,
    private readonly ns: Namespace,
    private readonly tenant: string,
  ) {
    this.jsm = jetStreamManagerOnce(nc);
  }

  private get stream(): string {
    return this.ns.streams.dlq;
  }

  private get filter(): string {
    return `${this.ns.prefix}.dlq.${this.tenant}.>`;
  }

  async count(): Promise<number> {
    const jsm = await this.jsm();
    try {
      const info = await jsm.streams.info(this.stream, { subjects_filter: this.filter });
      return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    } catch (err) {
      if (isMissing(err)) return 0;
      throw err;
    }
  }

  /** Up to `limit` letters with a sequence above `after`, oldest first. */
  async list(after: number, limit: number): Promise<DeadLetterPage> {
    const jsm = await this.jsm();
    const letters: DeadLetterView[] = [];
    let seq = after + 1;
    while (letters.length < limit) {
      let m: StoredMsg | null;
      try {
        // the server's message get takes `next_by_subj` with `seq` (the first match at or after it);
        // nats.js's MsgRequest type names only seq / last_by_subj
        m = await jsm.streams.getMessage(this.stream, { seq, next_by_subj: this.filter } as { seq: number });
      } catch (err) {
        if (isMissing(err)) break;
        throw err;
      }
      if (!m) break;
      letters.push(this.view(m));
      seq = m.seq + 1;
    }
    const last = letters.at(-1);
    return letters.length === limit && last ? { letters, nextAfter: last.seq } : { letters };
  }

  async get(seq: number): Promise<DeadLetterView> {
    const jsm = await this.jsm();
    let m: StoredMsg | null = null;
    try {
      m = await jsm.streams.getMessage(this.stream, { seq });
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    if (!m || !m.subject.startsWith(this.filter.slice(0, -1))) {
      throw new NotFoundError(`no dead letter ${seq}`, { field: "seq" });
    }
    return this.view(m);
  }

  /** Deletes a letter of this tenant; NOT_FOUND when it is gone or another tenant's. */
  async remove(seq: number): Promise<void> {
    await this.get(seq);
    const jsm = await this.jsm();
    try {
      await jsm.streams.deleteMessage(this.stream, seq, false);
    } catch (err) {
      if (isMissing(err)) throw new NotFoundError(`no dead letter ${seq}`, { field: "seq", cause: err });
      throw err;
    }
  }

  private view(m: StoredMsg): DeadLetterView {
    const jobId = m.subject.slice(m.subject.lastIndexOf(".") + 1);
    const base = { seq: m.seq, jobId, storedAt: m.time.toISOString() };
    try {
      const value = decode(m.data, encodingOf(m.header?.get("Content-Type")));
      const parsed = DeadLetterSchema.safeParse(value);
      if (parsed.success) return { ...base, letter: parsed.data as DeadLetter };
      return { ...base, letter: null, decodeError: parsed.error.issues[0]?.message ?? "not a dead letter" };
    } catch (err) {
      return { ...base, letter: null, decodeError: (err as Error).message };
    }
  }
}

function isMissing(err: unknown): boolean {
  // JetStream API error codes: 10059 stream not found, 10037 no message found
  return err instanceof JetStreamApiError && (err.code === 10059 || err.code === 10037);
}
