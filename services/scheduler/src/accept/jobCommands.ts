/**
 * The control API's job operations that create, read and edit jobs: queue, queueMany, exists, get, list,
 * update, logs. Input arrives unvalidated; each operation validates it once with the protocol's zod schemas
 * (a ValidationError names the field, e.g. `jobs.3.cron` or `patch.intervalSeconds`) before touching the
 * store, so bad input changes nothing. A job's `publish` actions must target its tenant's own event namespace
 * or an operator-allowed subject (protocol actionSubjects.ts): a refused one names `actions.<i>.subject`.
 *
 * Reads go through the local view after `catchUp` (the view has applied every write stored so far), so a
 * caller always reads its own writes, whichever replica answers.
 *
 * Fast-lane jobs (protocol fastJob.ts) waiting in the run stream are not in the store: get, exists and list
 * read them from the stream (queuedJobs.ts). `queue` does not look there: a lookup by job id is a wildcard
 * `last_by_subj` that the server answers by scanning the stream, per job (measured: 20,000 queued once jobs
 * went from 4,400 to 312 a second), so an id sent both ways is two jobs (docs/protocol.md).
 *
 * Limits (jobLimits.ts): a job's encoded size and its interval are checked where it is accepted, after the
 * schema; list and logs pages stop before their reply would pass max_payload (replyPage.ts).
 */
import { randomUUID } from "node:crypto";
import type { JetStreamClient } from "@nats-io/jetstream";
import { DeliverPolicy } from "@nats-io/jetstream";
import {
  carrierOf,
  inSpan,
  jobAttributes,
  otelContext,
  SpanKind,
  startSpan,
  tracingOn,
  type ArgsChecker,
  type JobStore,
} from "@taskjet/nats";
import {
  assertActionSubjects,
  decode,
  encodingOf,
  IdRequestSchema,
  initialState,
  ListRequestSchema,
  LogsRequestSchema,
  NotFoundError,
  parseJobInput,
  resolveStart,
  parseOrThrow,
  QueueManyRequestSchema,
  UpdateRequestSchema,
  ValidationError,
  type Encoding,
  type JobDefinition,
  type JobRecord,
  type ListResult,
  type LogsResult,
  type Namespace,
  type QueueResult,
  type RunLogEntry,
  type StoredJob,
  withRetention,
  fastJobView,
  type JobView,
  type ListFilter,
  type RetentionConfig,
} from "@taskjet/protocol";
import type { Clock } from "../plan/clock.js";
import type { JobIndex } from "../view/jobIndex.js";
import { checkJobLimits, type JobLimits } from "./jobLimits.js";
import { toJobView } from "../view/jobView.js";
import { type QueuedJob, type QueuedJobs } from "./queuedJobs.js";
import { ReplyPage } from "./replyPage.js";
import { JobSchedule } from "../view/schedule.js";

export interface CommandDeps {
  store: JobStore;
  /** fast-lane jobs waiting in the run stream */
  queued: QueuedJobs;
  /** accept-time args check against the schemas workers published */
  argsChecker: Pick<ArgsChecker, "check">;
  index: JobIndex;
  js: JetStreamClient;
  ns: Namespace;
  clock: Clock;
  apiTimeoutMs: number;
  limits: JobLimits;
  /** the connection's max_payload: no reply may be longer */
  maxPayload: () => number;
  /** operator-allowed subject patterns of publish actions (besides the tenant's own event namespace) */
  actionSubjectAllow: readonly string[];
  /** what is kept of finished jobs when a job does not say */
  retention: RetentionConfig;
}

const newId = () => randomUUID().replaceAll("-", "");
/** the most waiting fast-lane jobs a list filtered by group or name reads */
const MAX_QUEUED_READ = 10_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** The first nominal time a job fires after `afterMs` (and after it was created), as stored in nextRunTime. */
export function firstNominal(def: JobDefinition, createdAtMs: number, afterMs: number): number | undefined {
  return new JobSchedule(def, createdAtMs).next(afterMs);
}

function checkTenant(body: unknown, tenant: string, field: string): void {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return;
  const t = (body as Record<string, unknown>)["tenantId"];
  if (t !== undefined && t !== tenant) {
    throw new ValidationError(
      `${field}: tenantId "${String(t)}" does not match the tenant of the subject ("${tenant}")`,
      {
        field,
      },
    );
  }
}

export class JobCommands {
  constructor(private readonly d: CommandDeps) {}

  /** The key of a job by tenant and id (any group), or NotFoundError naming `id`. */
  async keyOf(tenant: string, id: string): Promise<string> {
    const key = this.d.index.byId(tenant, id)?.key ?? (await this.d.store.findKey(tenant, id));
    if (!key) throw new NotFoundError(`job "${id}" does not exist in tenant "${tenant}"`, { field: "id" });
    return key;
  }

  async read(tenant: string, id: string): Promise<StoredJob> {
    const key = await this.keyOf(tenant, id);
    const job = await this.d.store.get(key);
    if (!job || !job.def)
      throw new NotFoundError(`job "${id}" does not exist in tenant "${tenant}"`, { field: "id" });
    return job;
  }

  /** A fast-lane job of the tenant that waits in the run stream, or undefined. */
  queuedJob(tenant: string, id: string): Promise<QueuedJob | undefined> {
    return this.d.queued.find(tenant, id);
  }

  /** Deletes a waiting fast-lane job's message (false: it is gone already). */
  removeQueued(q: QueuedJob): Promise<boolean> {
    return this.d.queued.remove(q);
  }

  view(job: StoredJob) {
    return toJobView(job, job.revision, this.d.index.get(this.d.ns.jobKey(job.def)));
  }

  private validateJob(body: unknown, tenant: string, root?: string): JobDefinition {
    checkTenant(body, tenant, root ? `${root}.tenantId` : "tenantId");
    const withTenant =
      typeof body === "object" && body !== null && !Array.isArray(body)
        ? { ...body, tenantId: tenant }
        : body;
    // delayMs and runAt count from acceptance: stored as beginTime, the one start field the scheduler reads
    const parsed = resolveStart(parseJobInput(withTenant, root), this.d.clock.now());
    this.checkActions(parsed, root);
    const def = { ...parsed, id: parsed.id ?? newId() };
    checkJobLimits(def, this.d.limits, root);
    // the job's own retention, else its type's, tenant's or the default, fixed at acceptance (retention.ts)
    return withRetention(def, this.d.retention);
  }

  /** The tenant is known only here (the subject's token), so the action subject rule is checked here. */
  private checkActions(def: Pick<JobDefinition, "actions" | "tenantId">, root?: string): void {
    assertActionSubjects(
      def.actions,
      { prefix: this.d.ns.prefix, tenant: def.tenantId, allow: this.d.actionSubjectAllow },
      root,
    );
  }

  private newRecord(def: JobDefinition): JobRecord {
    const now = this.d.clock.now();
    const state = initialState(iso(now));
    const first = firstNominal(def, now, Number.NEGATIVE_INFINITY);
    if (first !== undefined) state.nextRunTime = iso(first);
    return { def, state };
  }

  /** Stores a job unless its id exists in the tenant (any group): then it is a no-op (the seed's Queue). */
  private async create(
    def: JobDefinition,
  ): Promise<{ id: string; created: boolean; job: () => Promise<QueueResult["job"]> }> {
    const existing = this.d.index.byId(def.tenantId, def.id);
    const existingView = async (key: string) => {
      const job = await this.d.store.get(key);
      if (!job) throw new NotFoundError(`job "${def.id}" vanished while being queued`);
      return this.view(job);
    };
    if (existing) return { id: def.id, created: false, job: () => existingView(existing.key) };
    const record = this.newRecord(def);
    let revision: number | undefined;
    if (!tracingOn()) revision = await this.d.store.create(record);
    else {
      // a span for the acceptance, whose context the job keeps for its fires (tracing.ts)
      const span = startSpan("taskjet.queue", otelContext.active(), jobAttributes(def), {
        kind: SpanKind.SERVER,
      });
      revision = await inSpan(span, async () => {
        const carrier = carrierOf(otelContext.active());
        if (carrier) record.state.trace = carrier;
        const created = await this.d.store.create(record);
        span.setAttribute("taskjet.created", created !== undefined);
        return created;
      });
    }
    if (revision === undefined)
      return { id: def.id, created: false, job: () => existingView(this.d.ns.jobKey(def)) };
    return { id: def.id, created: true, job: async () => toJobView(record, revision) };
  }

  async queue(tenant: string, body: unknown): Promise<QueueResult> {
    const def = this.validateJob(body, tenant);
    const warnings = await this.d.argsChecker.check([{ def }]);
    await this.d.index.catchUp(this.d.apiTimeoutMs);
    const r = await this.create(def);
    const result: QueueResult = { id: r.id, created: r.created, job: await r.job() };
    if (warnings.length > 0) result.warnings = warnings;
    return result;
  }

  /** All or nothing at validation: every job is checked before any is stored. */
  async queueMany(
    tenant: string,
    body: unknown,
  ): Promise<{ results: { id: string; created: boolean }[]; warnings?: string[] }> {
    const { jobs } = parseOrThrow(QueueManyRequestSchema, body);
    const defs = jobs.map((j, i) => this.validateJob(j, tenant, `jobs.${i}`));
    const warnings = await this.d.argsChecker.check(defs.map((def, i) => ({ def, root: `jobs.${i}` })));
    await this.d.index.catchUp(this.d.apiTimeoutMs);
    const results: { id: string; created: boolean }[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < defs.length; i += 256) {
      const chunk = defs.slice(i, i + 256);
      const done = await Promise.all(
        chunk.map(async (def) => {
          if (seen.has(def.id)) return { id: def.id, created: false };
          seen.add(def.id);
          const r = await this.create(def);
          return { id: r.id, created: r.created };
        }),
      );
      results.push(...done);
    }
    return warnings.length > 0 ? { results, warnings } : { results };
  }

  async exists(tenant: string, body: unknown): Promise<{ exists: boolean }> {
    const { id } = parseOrThrow(IdRequestSchema, body);
    // read your own writes: a remove just answered must not be seen as existing by a view that lags
    await this.d.index.catchUp(this.d.apiTimeoutMs);
    if (this.d.index.byId(tenant, id)) return { exists: true };
    if ((await this.d.store.findKey(tenant, id)) !== undefined) return { exists: true };
    return { exists: (await this.d.queued.find(tenant, id)) !== undefined };
  }

  async get(tenant: string, body: unknown) {
    const { id } = parseOrThrow(IdRequestSchema, body);
    try {
      return { job: this.view(await this.read(tenant, id)) };
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      const queued = await this.d.queued.find(tenant, id);
      if (!queued) throw err;
      return { job: fastJobView(queued.def, queued.acceptedMs) };
    }
  }

  /**
   * One page of matching jobs: at most `limit`, and no more than fit in a reply (`encoding` the caller's).
   * The stored jobs come first, then the fast-lane jobs waiting in the run stream (queuedList), one
   * sequence for offset and total.
   */
  async list(tenant: string, body: unknown, encoding: Encoding = "msgpack"): Promise<ListResult> {
    const req = parseOrThrow(ListRequestSchema, body ?? {});
    await this.d.index.catchUp(this.d.apiTimeoutMs);
    const matches = this.d.index.list(tenant, req);
    const queued = await this.queuedList(tenant, req);
    const total = matches.length + queued.length;
    const page = new ReplyPage<JobView>(this.d.maxPayload(), encoding);
    const end = Math.min(req.offset + req.limit, total);
    let i = req.offset;
    for (; i < end; i++) {
      let view: JobView | undefined;
      if (i < matches.length) {
        const e = matches[i]!;
        view = toJobView(e.peek(), e.revision, e);
      } else {
        // read when its page is served: it may have run meanwhile (then it is left out of this page)
        const q = await queued[i - matches.length]!();
        if (!q) continue;
        view = fastJobView(q.def, q.acceptedMs);
      }
      const outcome = page.offer(view);
      if (outcome === "full") break;
      if (outcome === "oversized" && !page.reserve(view.id.length + 8)) break;
    }
    const result: ListResult = { jobs: page.items, total };
    if (i < total) result.nextOffset = i;
    if (page.oversized.length > 0) result.omitted = page.oversized.map((j) => j.id);
    return result;
  }

  /**
   * The tenant's fast-lane jobs waiting in the run stream that match `f`, by job id, each a reader of its
   * message. Node and type filter on the subject alone; status (they are `queuing`) and jobType (`once`)
   * need nothing read; group and name filters read every candidate message (at most MAX_QUEUED_READ: a
   * filter past that many waiting jobs sees the first ones by id). Ids in the store are stored jobs' fires.
   */
  private async queuedList(tenant: string, f: ListFilter): Promise<(() => Promise<QueuedJob | undefined>)[]> {
    if (f.status !== undefined && f.status !== "queuing") return [];
    if (f.jobType !== undefined && f.jobType !== "once") return [];
    const subjects = (await this.d.queued.subjects(tenant)).filter(
      (s) =>
        (f.node === undefined || s.node === f.node) &&
        (f.type === undefined || s.type === f.type) &&
        !this.d.index.byId(tenant, s.jobId),
    );
    if (f.group === undefined && f.name === undefined) {
      return subjects.map((s) => () => this.d.queued.read(s));
    }
    const read: (QueuedJob | undefined)[] = [];
    const wanted = subjects.slice(0, MAX_QUEUED_READ);
    for (let i = 0; i < wanted.length; i += 128) {
      read.push(...(await Promise.all(wanted.slice(i, i + 128).map((s) => this.d.queued.read(s)))));
    }
    return read
      .filter(
        (q): q is QueuedJob =>
          q !== undefined &&
          (f.group === undefined || q.def.group === f.group) &&
          (f.name === undefined || q.def.name.toLowerCase().includes(f.name.toLowerCase())),
      )
      .map((q) => () => Promise.resolve(q));
  }

  /** Merges a patch into the definition, re-validates the whole of it, and writes with compare-and-set. */
  async update(tenant: string, body: unknown) {
    const { id, patch } = parseOrThrow(UpdateRequestSchema, body);
    const key = await this.keyOf(tenant, id);
    if (patch.args !== undefined || patch.type !== undefined) {
      // new args or a new type: checked against the type's published schema before the write, as at queue
      const cur = (await this.d.store.get(key))?.def;
      if (cur) {
        const def = { type: patch.type ?? cur.type, args: patch.args ?? cur.args };
        await this.d.argsChecker.check([{ def, root: "patch" }], { countUnknown: false });
      }
    }
    const job = await this.d.store.mutate(key, (cur) => {
      const merged: Record<string, unknown> = { ...cur.def };
      for (const [k, v] of Object.entries(patch)) if (v !== undefined) merged[k] = v;
      const parsed = parseJobInput(merged, "patch");
      this.checkActions(parsed, "patch");
      const def: JobDefinition = { ...parsed, id: cur.def.id };
      // an interval accepted before the operator raised the minimum stays until the patch changes it
      checkJobLimits(def, this.d.limits, "patch", { checkInterval: patch.intervalSeconds !== undefined });
      const state = { ...cur.state, updatedAt: iso(this.d.clock.now()) };
      const createdAtMs = Date.parse(cur.state.createdAt);
      const before = new JobSchedule(cur.def, createdAtMs);
      const after = new JobSchedule(def, createdAtMs);
      if (!after.sameAs(before) || def.maxCount !== cur.def.maxCount) {
        // the new schedule applies from now on: nominal times before now are neither fired nor misfires
        const last = state.lastFireTime ? Date.parse(state.lastFireTime) : Number.NEGATIVE_INFINITY;
        const next = after.next(Math.max(this.d.clock.now(), last));
        if (next !== undefined) state.nextRunTime = iso(next);
        else delete state.nextRunTime;
      }
      return { def, state };
    });
    return { job: this.view(job) };
  }

  /**
   * Up to `limit` run-log entries of a job, oldest first, before the newest `offset` ones (offset 0: the
   * last `limit`), read with an ordered consumer; cut from the oldest end when they would not fit in a
   * reply. `nextOffset` is there while older entries remain.
   */
  async logs(tenant: string, body: unknown, encoding: Encoding = "msgpack"): Promise<LogsResult> {
    const { id, limit, offset } = parseOrThrow(LogsRequestSchema, body);
    const window = offset + limit;
    const consumer = await this.d.js.consumers.get(this.d.ns.streams.log, {
      filter_subjects: this.d.ns.log(tenant, id),
      deliver_policy: DeliverPolicy.All,
    });
    const entries: RunLogEntry[] = [];
    let seen = 0;
    let pending = (await consumer.info(true)).num_pending;
    while (pending > 0) {
      const batch = await consumer.fetch({
        max_messages: Math.min(pending, 1000),
        expires: this.d.apiTimeoutMs,
      });
      let got = 0;
      for await (const m of batch) {
        got++;
        pending = m.info.pending;
        try {
          entries.push(decode(m.data, encodingOf(m.headers?.get("Content-Type"))) as RunLogEntry);
          seen++;
        } catch {
          // a malformed entry is not ours to fix here; leave it out of the answer
        }
        if (entries.length > window) entries.shift();
        if (pending === 0) break;
      }
      if (got === 0) break;
    }
    await consumer.delete().catch(() => undefined);
    // newest first into the page, so a size cut drops the oldest; an entry too big for any reply is passed
    const candidates = entries.slice(0, Math.max(0, entries.length - offset)).reverse();
    const page = new ReplyPage<RunLogEntry>(this.d.maxPayload(), encoding);
    let taken = 0;
    for (const entry of candidates) {
      if (page.offer(entry) === "full") break;
      taken++;
    }
    const result: LogsResult = { entries: page.items.reverse() };
    if (offset + taken < seen) result.nextOffset = offset + taken;
    return result;
  }
}
