/**
 * The control API (the seed's IJobScheduler), one typed method per operation, over request/reply on
 * `<p>.api.<tenant>.<op>` and `<p>.sys.scheduler.<op>`. Every failure is the protocol's typed error:
 * the scheduler's (rebuilt from the reply envelope), UNAVAILABLE when no scheduler answers, TIMEOUT, or
 * INVALID_ARGUMENT when the input fails the protocol's schema before anything is sent.
 */
import { randomUUID } from "node:crypto";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { ArgsChecker, directPublisher, publishFastJob, Registry, request, RequestMux } from "@taskjet/nats";
import {
  encode,
  errorFromBody,
  fastJobMessage,
  fastJobView,
  isImmediateOnce,
  type FastJobMessage,
  IdRequestSchema,
  JobInputSchema,
  jobTooLargeError,
  ListRequestSchema,
  LogsRequestSchema,
  parseOrThrow,
  QueueManyRequestSchema,
  TimeoutError,
  UnavailableError,
  UpdateRequestSchema,
  type ApiOp,
  type BulkResult,
  type JobInput,
  type JobPatch,
  type JobView,
  type ListFilter,
  type ListRequest,
  type ListResult,
  type LogsResult,
  type Namespace,
  type QueueResult,
  type RunLogEntry,
  type SchedulerStatus,
  type SysOp,
} from "@taskjet/protocol";
import { isDefinedJob, jobInputOf, type ArgsOf, type DefinedJob } from "@taskjet/jobs";
import type { ClientOptions } from "./options.js";
import { isSingle, toSelector, type Target } from "./selector.js";

/** Jobs per queueMany request (well inside NATS' default 1 MiB message limit for typical jobs). */
const QUEUE_CHUNK = 1_000;
/** queueMany requests in flight at a time. */
const QUEUE_PIPELINE = 4;
/** fast-lane publishes of one queueMany awaiting their PubAck at a time */
const FAST_IN_FLIGHT = 512;
/** how long a registry this client may not read is not asked again */
const REGISTRY_UNREADABLE_MS = 60_000;
const quiet = { warn: () => undefined, debug: () => undefined };

export interface QueueManyResult {
  results: { id: string; created: boolean }[];
  /** accepted, but said about: e.g. no worker has registered a job's type yet (its args unchecked) */
  warnings?: string[];
}

/** A job as the SDK takes it: `runAt` may also be a Date. */
export type QueueInput = Omit<JobInput, "runAt"> & { runAt?: JobInput["runAt"] | Date };

/** The options of a typed queue call: any job field but its type and args (`name` defaults to the type). */
export type QueueOptions = Omit<QueueInput, "type" | "args" | "tenantId" | "name"> & { name?: string };

export type BulkOp = "trigger" | "pause" | "resume" | "remove" | "start" | "stop";
export const bulkOps: readonly BulkOp[] = ["trigger", "pause", "resume", "remove", "start", "stop"];

export class JobScheduler {
  /** the fast lane's publishes: one inbox subscription and one timer for all (nats/requestMux.ts) */
  private mux: RequestMux | undefined;
  private checker: ArgsChecker | undefined;
  private registry: Promise<Registry> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    readonly ns: Namespace,
    readonly options: ClientOptions,
  ) {}

  get tenant(): string {
    return this.options.tenant;
  }

  /**
   * Queues a job. An immediate once job (no delay, start time or interval) takes the fast lane (option
   * `fastLane`, default on): published straight to the run stream, accepted when the stream acknowledged
   * it; `created: false` when the same id was published within the stream's duplicate window (5 min); the
   * store is not asked (docs/protocol.md, "The fast lane"). Any other job goes to the scheduler's `queue`: a
   * no-op when a job with the same id exists (`created: false`, the stored job). A job without an id gets
   * one here, so a try whose outcome is unknown (TIMEOUT) or that nobody answered (UNAVAILABLE) is sent
   * again, up to `queueRetries` times, without the risk of a second job.
   */
  queue<D extends DefinedJob>(job: D, args: ArgsOf<D>, options?: QueueOptions): Promise<QueueResult>;
  queue(job: QueueInput): Promise<QueueResult>;
  async queue(
    jobOrDef: QueueInput | DefinedJob,
    args?: Record<string, unknown>,
    options: QueueOptions = {},
  ): Promise<QueueResult> {
    // a definition checks the args against its schema first (field `args.<path>`), then fills in its defaults
    const job = isDefinedJob(jobOrDef)
      ? jobInputOf(jobOrDef, args ?? {}, withIsoTimes(options))
      : withIsoTimes(jobOrDef);
    // a fast-lane job is validated (once) as it is built; the others here
    const fast = this.fastMessage(job);
    if (!fast) {
      parseOrThrow(JobInputSchema, job);
      const withOwnId = withId(job); // one id for every try
      return this.retrying(() => this.call("queue", withOwnId));
    }
    const warnings = await this.checkArgs([{ m: fast }]);
    const created = await this.retrying((resent) => this.publishFast(fast, resent));
    // the stream's own acceptance time is what `get` shows; the PubAck does not carry it
    const r: QueueResult = { id: fast.def.id, created, job: fastJobView(fast.def, Date.now()) };
    return warnings.length > 0 ? { ...r, warnings } : r;
  }

  /**
   * The job's fast-lane message when it takes the fast lane (validated: ValidationError names the field). A
   * job with a `publish` action goes to the scheduler instead: only it knows which subjects the operator
   * allows such actions (actionSubjectAllow).
   */
  private fastMessage(job: JobInput, root?: string): FastJobMessage | undefined {
    if (!this.options.fastLane || typeof job !== "object" || job === null || !isImmediateOnce(job)) {
      return undefined;
    }
    const actions: unknown = job.actions;
    if (Array.isArray(actions) && actions.some((a) => (a as { kind?: unknown })?.kind === "publish")) {
      return undefined;
    }
    const m = fastJobMessage(this.ns, this.options.tenant, job, newId, root);
    // the size limit the scheduler applies to the jobs it stores, measured here as the job will be sent: a
    // fast-lane job never reaches the scheduler
    m.encoded = encode(m.payload, this.options.encoding);
    if (m.encoded.length > this.options.maxJobBytes) {
      throw jobTooLargeError(m.payload, m.encoded.length, this.options.maxJobBytes, "this client", root);
    }
    return m;
  }

  /**
   * The scheduler's accept-time args check, done here for fast-lane jobs: their args against the schema
   * their type's workers published in the registry (INVALID_ARGUMENT naming `args.<field>`), or a warning
   * when no worker registered the type or the registry cannot be read (a tenant's NATS user may not).
   */
  private checkArgs(msgs: readonly { m: FastJobMessage; root?: string }[]): Promise<string[]> {
    this.checker ??= new ArgsChecker({
      registry: { type: async (type) => (await this.openRegistry()).type(type) },
      clock: { now: () => Date.now() },
      cacheMs: this.options.argsSchemaCacheMs, // client option, default 5 s
      unreadableCacheMs: REGISTRY_UNREADABLE_MS,
      log: quiet,
    });
    return this.checker.check(msgs.map(({ m, root }) => ({ def: m.def, root })));
  }

  private openRegistry(): Promise<Registry> {
    this.registry ??= new Kvm(this.nc)
      .open(this.ns.buckets.registry)
      .then((kv) => new Registry(kv))
      .catch((err: unknown) => {
        this.registry = undefined;
        throw err;
      });
    return this.registry;
  }

  /** Publishes a fast-lane job; true when the stream stored it, false for a duplicate of one it has. */
  private async publishFast(m: FastJobMessage, resent: boolean): Promise<boolean> {
    this.mux ??= new RequestMux(this.nc, directPublisher(this.nc), this.options.requestTimeoutMs);
    const ack = await publishFastJob(this.mux, m, this.options.encoding, resent);
    return !ack.duplicate;
  }

  /** Stops the fast lane's reply subscription and timer (the client's close). */
  close(): void {
    this.mux?.close();
    this.mux = undefined;
  }

  /**
   * Queues many jobs, all or nothing at validation: one bad job rejects the whole array before anything is
   * stored (field `jobs.<n>.<field>`). Any number of jobs: they go out in requests of QUEUE_CHUNK (a NATS
   * message has a size limit), QUEUE_PIPELINE at a time; results come back in input order.
   */
  async queueMany(input: readonly QueueInput[]): Promise<QueueManyResult> {
    if (input.length === 0) parseOrThrow(QueueManyRequestSchema, { jobs: input });
    let jobs = input.map(withIsoTimes);
    // every job checked before any is sent: fast-lane ones as they are built (the fast lane's rules too)
    const fast = jobs.map((job, i) => {
      const m = this.fastMessage(job, `jobs.${i}`);
      if (!m) parseOrThrow(JobInputSchema, job, `jobs.${i}`);
      return m;
    });
    jobs = jobs.map(withId);
    if (fast.some((m) => m !== undefined)) return this.queueMixed(jobs, fast);
    return this.queueStored(jobs);
  }

  /**
   * The jobs for the scheduler first (its checks may still refuse one: then nothing else is sent), then the
   * fast-lane ones, FAST_IN_FLIGHT awaiting their PubAck at a time; results in input order.
   */
  private async queueMixed(jobs: JobInput[], fast: (FastJobMessage | undefined)[]): Promise<QueueManyResult> {
    const results: QueueManyResult["results"] = new Array<QueueManyResult["results"][number]>(jobs.length);
    const checked: { m: FastJobMessage; root: string }[] = [];
    fast.forEach((m, i) => m && checked.push({ m, root: `jobs.${i}` }));
    const warnings = new Set(await this.checkArgs(checked));
    const stored: number[] = [];
    fast.forEach((m, i) => m === undefined && stored.push(i));
    const s = stored.length > 0 ? await this.queueStored(stored.map((i) => jobs[i]!)) : undefined;
    if (s) s.results.forEach((r, k) => (results[stored[k]!] = r));
    let next = 0;
    const lane = async () => {
      while (next < fast.length) {
        const i = next++;
        const m = fast[i];
        if (m === undefined) continue;
        const created = await this.retrying((resent) => this.publishFast(m, resent));
        results[i] = { id: m.def.id, created };
      }
    };
    await Promise.all(Array.from({ length: Math.min(FAST_IN_FLIGHT, fast.length) }, lane));
    for (const w of s?.warnings ?? []) warnings.add(w);
    return warnings.size > 0 ? { results, warnings: [...warnings] } : { results };
  }

  private async queueStored(jobs: JobInput[]): Promise<QueueManyResult> {
    if (jobs.length <= QUEUE_CHUNK) return this.retrying(() => this.call("queueMany", { jobs }));
    const chunks: JobInput[][] = [];
    for (let i = 0; i < jobs.length; i += QUEUE_CHUNK) chunks.push(jobs.slice(i, i + QUEUE_CHUNK));
    const results: QueueManyResult["results"][] = new Array<QueueManyResult["results"]>(chunks.length);
    const warnings = new Set<string>();
    let next = 0;
    const lane = async () => {
      while (next < chunks.length) {
        const i = next++;
        const chunk = { jobs: chunks[i] };
        const r = await this.retrying(() => this.call<QueueManyResult>("queueMany", chunk));
        results[i] = r.results;
        // warnings are per type: one said by several chunks is kept once
        for (const w of r.warnings ?? []) warnings.add(w);
      }
    };
    await Promise.all(Array.from({ length: Math.min(QUEUE_PIPELINE, chunks.length) }, lane));
    return warnings.size > 0
      ? { results: results.flat(), warnings: [...warnings] }
      : { results: results.flat() };
  }

  async exists(id: string): Promise<boolean> {
    const r = await this.call<{ exists: boolean }>("exists", parseOrThrow(IdRequestSchema, { id }));
    return r.exists;
  }

  /** The job, or NOT_FOUND. */
  async get(id: string): Promise<JobView> {
    const r = await this.call<{ job: JobView }>("get", parseOrThrow(IdRequestSchema, { id }));
    return r.job;
  }

  /** One page of jobs matching a filter (`limit` default 100, `offset` default 0). */
  async list(req: ListRequest = {}): Promise<ListResult> {
    return this.call("list", parseOrThrow(ListRequestSchema, req));
  }

  /** Every job matching a filter, page by page. */
  async *iterate(filter: ListFilter = {}, pageSize = 500): AsyncGenerator<JobView> {
    let offset: number | undefined = 0;
    while (offset !== undefined) {
      const page: ListResult = await this.list({ ...filter, limit: pageSize, offset });
      yield* page.jobs;
      // a page cut short by the reply size still has a nextOffset, always past this one
      offset = page.nextOffset;
    }
  }

  /** Changes the fields named in `patch`; identity, group and job type stay. */
  async update(id: string, patch: JobPatch): Promise<JobView> {
    const r = await this.call<{ job: JobView }>("update", validated(UpdateRequestSchema, { id, patch }));
    return r.job;
  }

  /** Fires now, outside the schedule. */
  async trigger(target: Target): Promise<BulkResult> {
    return this.bulk("trigger", target);
  }
  async pause(target: Target): Promise<BulkResult> {
    return this.bulk("pause", target);
  }
  async resume(target: Target): Promise<BulkResult> {
    return this.bulk("resume", target);
  }
  /**
   * Removes jobs whose schedule has ended (stopped or completed); a job that is still live is refused
   * with FAILED_PRECONDITION unless `force` (then it is paused, its runs interrupted, and removed).
   */
  async remove(target: Target, opts: { force?: boolean } = {}): Promise<BulkResult> {
    return this.bulk("remove", target, opts.force ? { force: true } : {});
  }
  async start(target: Target): Promise<BulkResult> {
    return this.bulk("start", target);
  }
  async stop(target: Target): Promise<BulkResult> {
    return this.bulk("stop", target);
  }

  /**
   * Runs a bulk operation. For a single id a failed result throws its typed error; for ids and filters
   * the per-job results come back as they are (check `ok` on each).
   */
  async bulk(op: BulkOp, target: Target, extra: { force?: boolean } = {}): Promise<BulkResult> {
    const result = await this.call<BulkResult>(op, toSelector(target, extra));
    if (isSingle(target)) {
      const failed = result.results.find((r) => !r.ok);
      if (failed?.error) throw errorFromBody(failed.error);
    }
    return result;
  }

  /** The run log of a job, newest last (`limit` default 50): the first page of `logPage`. */
  async logs(id: string, limit?: number): Promise<RunLogEntry[]> {
    return (await this.logPage(id, limit === undefined ? {} : { limit })).entries;
  }

  /**
   * Up to `limit` entries before the newest `offset`, oldest first; `nextOffset` while older ones remain
   * (a page may hold fewer than `limit`: it never exceeds the connection's max_payload).
   */
  async logPage(id: string, page: { limit?: number; offset?: number } = {}): Promise<LogsResult> {
    return this.call<LogsResult>("logs", validated(LogsRequestSchema, { id, ...page }));
  }

  /** The leader, the replicas, the workers and job counts (`<p>.sys.scheduler.status`). */
  async status(): Promise<SchedulerStatus> {
    return this.sys("status");
  }
  /** Asks the scheduler replicas to stop leading (maintenance). */
  async standby(): Promise<unknown> {
    return this.sys("standby");
  }
  /** Undoes `standby`. */
  async activate(): Promise<unknown> {
    return this.sys("activate");
  }
  /** The seed's Shutdown: asks the scheduler replicas to stop. */
  async shutdown(): Promise<unknown> {
    return this.sys("shutdown");
  }

  /**
   * `send`, again after a TIMEOUT or UNAVAILABLE (backoff 100 ms, doubling), up to queueRetries times;
   * `resent` is true on every try after the first.
   */
  private async retrying<T>(send: (resent: boolean) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await send(attempt > 0);
      } catch (err) {
        const unknown = err instanceof TimeoutError || err instanceof UnavailableError;
        if (!unknown || attempt >= this.options.queueRetries) throw err;
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
  }

  private call<T>(op: ApiOp, body: unknown): Promise<T> {
    return request<T>(this.nc, this.ns.api(this.options.tenant, op), body, this.requestOptions());
  }

  private sys<T>(op: SysOp): Promise<T> {
    return request<T>(this.nc, this.ns.sys(op), {}, this.requestOptions());
  }

  private requestOptions() {
    return { encoding: this.options.encoding, timeoutMs: this.options.requestTimeoutMs };
  }
}

/** The job with an id: the caller's, or a new one (as the scheduler would make it). */
/** The SDK's Date forms as the wire's ISO strings. */
function withIsoTimes<J extends { runAt?: JobInput["runAt"] | Date }>(
  job: J,
): Omit<J, "runAt"> & { runAt?: JobInput["runAt"] } {
  if (!(job.runAt instanceof Date)) return job as Omit<J, "runAt"> & { runAt?: JobInput["runAt"] };
  // an invalid Date stays a value the schema refuses by name (runAt), not a RangeError from toISOString
  const runAt = Number.isNaN(job.runAt.getTime()) ? "Invalid Date" : job.runAt.toISOString();
  return { ...job, runAt };
}

const newId = () => randomUUID().replaceAll("-", "");

function withId(job: JobInput): JobInput {
  return job.id === undefined ? { ...job, id: newId() } : job;
}

/** Validates but sends the caller's value (the scheduler applies defaults itself). */
function validated<T>(schema: Parameters<typeof parseOrThrow>[0], body: T): T {
  parseOrThrow(schema, body);
  return body;
}
