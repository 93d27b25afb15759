/**
 * The subject, bucket and stream namespace, all under one prefix (default `taskjet`).
 *
 *   <p>.api.<tenant>.<op>                       control API, request/reply (ops: see api.ts)
 *   <p>.sys.scheduler.<op>                      scheduler admin: status, standby, activate, shutdown
 *   <p>.run.<tenant>.<node>.<type>.<pN>.<last> dispatch (JetStream, work queue); node `_any` = any node;
 *                                               type = the job type's subject token; pN = p1 (low) .. p5 (high);
 *                                               last = the job id for a fast-lane job (fastJob.ts): `get` and
 *                                               `remove` find a queued one by subject (direct get
 *                                               last_by_subj) and `list` sees the queued ones (stream info
 *                                               subjects_filter); `=fire` for a scheduler fire (FIRE_TOKEN,
 *                                               never a job id): its job is in the store, and one subject per
 *                                               node, type and priority spares nats-server a subject per job
 *                                               at every fire (13 % of its CPU per message, bench/RESULTS.md)
 *   <p>.ctl.<node>                              interrupts to the workers of a node (core NATS);
 *                                               node `_all` reaches every worker
 *   <p>.ctl._held                               workers ask each other who holds a redelivered fire (core
 *                                               NATS request/reply, worker-runtime heldFires.ts)
 *   <p>.evt.<tenant>.<group>.<type>.<jobId>.<phase>   events, phase = before | after | skipped | deadletter;
 *                                               group and type as their subject tokens (names.ts)
 *   <p>.log.<tenant>.<jobId>                    run log (JetStream, limits)
 *   <p>.dlq.<tenant>.<jobId>                    dead letters (JetStream, limits)
 *
 * Tenants separate on the token after `api`/`run`/`evt`, nodes on the one after the tenant in `run` and after
 * `ctl`, job types on the one after the node in `run`: what server permissions and the workers' consumers
 * key on. A worker pulls only the types it has handlers for (runConsumer: one durable consumer per node or
 * any-node, type and priority; a work-queue stream forbids overlapping filters, so consumers cannot be shared
 * across different sets of types). Each role's permissions, with its own inbox prefix, are in
 * deploy/nats/permissions.conf (docs/protocol.md#permissions).
 */
import type { JobDefinition } from "./job.js";
import { priorityLevel } from "./job.js";
import { nameOfToken, subjectToken } from "./names.js";

export const DEFAULT_PREFIX = "taskjet";
export const ANY_NODE = "_any";
export const ALL_NODES = "_all";
/** The `ctl` token of the workers' held-fire question (heldFires.ts); a worker refuses it as its node name. */
export const HELD_TOKEN = "_held";
export const PREFIX_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
/** The last token of a scheduler fire's run subject: `=` is in no job id (TOKEN_PATTERN), so no job has it. */
export const FIRE_TOKEN = "=fire";

export const apiOps = [
  "queue",
  "queueMany",
  "exists",
  "get",
  "list",
  "update",
  "trigger",
  "pause",
  "resume",
  "remove",
  "start",
  "stop",
  "logs",
] as const;
export type ApiOp = (typeof apiOps)[number];

export const sysOps = ["status", "standby", "activate", "shutdown"] as const;
export type SysOp = (typeof sysOps)[number];

export const eventPhases = ["before", "after", "progress", "skipped", "deadletter"] as const;
export type EventPhase = (typeof eventPhases)[number];

/** Header names carried by taskjet messages. */
export const Headers = {
  MsgId: "Nats-Msg-Id",
  Epoch: "Taskjet-Epoch",
  Nominal: "Taskjet-Nominal-Time",
  FireId: "Taskjet-Fire-Id",
  ContentType: "Content-Type",
  /** W3C trace context (OpenTelemetry), on API requests and fires when tracing is on */
  TraceParent: "traceparent",
  TraceState: "tracestate",
} as const;

/** All names derived from one prefix. Build once with `namespace(prefix)`. */
export interface Namespace {
  prefix: string;
  api(tenant: string, op: ApiOp): string;
  /** wildcard that a scheduler subscribes to (all tenants, all ops) */
  apiAll: string;
  sys(op: SysOp): string;
  /** a fast-lane job's run subject (its id last) */
  run(tenant: string, node: string | undefined, type: string, priority: number, jobId: string): string;
  /** a scheduler fire's run subject (FIRE_TOKEN last) */
  fire(tenant: string, node: string | undefined, type: string, priority: number): string;
  /** every queued message of one job (any node, type, priority): `<p>.run.<tenant>.*.*.*.<jobId>` */
  runOfJob(tenant: string, jobId: string): string;
  /** every queued message of one tenant: `<p>.run.<tenant>.>` */
  runOfTenant(tenant: string): string;
  /**
   * The durable consumer of a node's (or, node undefined, the any-node subject's) fires of one type and
   * priority, and its filter:
   *
   *   <p>-node<len>-<node>-<type>-p<N>   filter <p>.run.*.<node>.<type>.p<N>.*   (len = the node name's
   *                                       length, so `eu` + `west-x` and `eu-west` + `x` never share a name)
   *   <p>-any-<type>-p<N>                filter <p>.run.*._any.<type>.p<N>.*
   */
  runConsumer(node: string | undefined, type: string, priority: number): { name: string; filter: string };
  runAll: string;
  ctl(node: string): string;
  /** the workers' held-fire question (core NATS request/reply) */
  held: string;
  event(def: Pick<JobDefinition, "tenantId" | "group" | "type" | "id">, phase: EventPhase): string;
  eventFilter(f: {
    tenant?: string;
    group?: string;
    type?: string;
    jobId?: string;
    phase?: EventPhase;
  }): string;
  log(tenant: string, jobId: string): string;
  logAll: string;
  dlq(tenant: string, jobId: string): string;
  dlqAll: string;
  /** KV key of a job: `<tenant>.<group token>.<id>` so watches and lists can filter by tenant and group. */
  jobKey(def: Pick<JobDefinition, "tenantId" | "group" | "id">): string;
  jobKeyFilter(f: { tenant?: string; group?: string; id?: string }): string;
  buckets: { jobs: string; lease: string; locks: string; registry: string; sched: string };
  streams: { run: string; log: string; dlq: string };
}

export function namespace(prefix: string = DEFAULT_PREFIX): Namespace {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new Error(`subject prefix "${prefix}" must be 1-32 letters, digits, "_" or "-"`);
  }
  const p = prefix;
  const w = (s: string | undefined) => s ?? "*";
  // job types and groups are printable names: subjects and keys carry their tokens (names.ts)
  const t = subjectToken;
  const wt = (s: string | undefined) => (s === undefined ? "*" : t(s));
  return {
    prefix: p,
    api: (tenant, op) => `${p}.api.${tenant}.${op}`,
    apiAll: `${p}.api.*.*`,
    sys: (op) => `${p}.sys.scheduler.${op}`,
    run: (tenant, node, type, priority, jobId) =>
      `${p}.run.${tenant}.${node ?? ANY_NODE}.${t(type)}.p${priority}.${jobId}`,
    fire: (tenant, node, type, priority) =>
      `${p}.run.${tenant}.${node ?? ANY_NODE}.${t(type)}.p${priority}.${FIRE_TOKEN}`,
    runOfJob: (tenant, jobId) => `${p}.run.${tenant}.*.*.*.${jobId}`,
    runOfTenant: (tenant) => `${p}.run.${tenant}.>`,
    runConsumer: (node, type, priority) => ({
      name:
        node === undefined
          ? `${p}-any-${t(type)}-p${priority}`
          : `${p}-node${node.length}-${node}-${t(type)}-p${priority}`,
      filter: `${p}.run.*.${node ?? ANY_NODE}.${t(type)}.p${priority}.*`,
    }),
    runAll: `${p}.run.>`,
    ctl: (node) => `${p}.ctl.${node}`,
    held: `${p}.ctl.${HELD_TOKEN}`,
    event: (d, phase) => `${p}.evt.${d.tenantId}.${t(d.group)}.${t(d.type)}.${d.id}.${phase}`,
    eventFilter: (f) => `${p}.evt.${w(f.tenant)}.${wt(f.group)}.${wt(f.type)}.${w(f.jobId)}.${w(f.phase)}`,
    log: (tenant, jobId) => `${p}.log.${tenant}.${jobId}`,
    logAll: `${p}.log.>`,
    dlq: (tenant, jobId) => `${p}.dlq.${tenant}.${jobId}`,
    dlqAll: `${p}.dlq.>`,
    jobKey: (d) => `${d.tenantId}.${t(d.group)}.${d.id}`,
    jobKeyFilter: (f) => `${w(f.tenant)}.${wt(f.group)}.${w(f.id)}`,
    buckets: {
      jobs: `${p}-jobs`,
      lease: `${p}-lease`,
      locks: `${p}-locks`,
      registry: `${p}-registry`,
      sched: `${p}-sched`,
    },
    streams: { run: `${p}-run`, log: `${p}-log`, dlq: `${p}-dlq` },
  };
}

/**
 * The subject of a scheduler fire of a job: its node (the seed's dispatcher) or any node (the seed's
 * publisher), its type and priority.
 */
export function fireSubjectOf(
  ns: Namespace,
  def: Pick<JobDefinition, "tenantId" | "nodeName" | "type" | "priority">,
): string {
  return ns.fire(def.tenantId, def.nodeName, def.type, priorityLevel(def.priority));
}

/**
 * The tokens of a run subject, or undefined for another subject. `jobId` is undefined on a scheduler fire's
 * subject (FIRE_TOKEN): its job is named in the message.
 */
export function parseRunSubject(
  ns: Pick<Namespace, "prefix">,
  subject: string,
):
  | { tenant: string; node: string | undefined; type: string; priority: number; jobId: string | undefined }
  | undefined {
  const t = subject.split(".");
  if (t.length !== 7 || t[0] !== ns.prefix || t[1] !== "run" || !/^p[1-5]$/.test(t[5]!)) return undefined;
  return {
    tenant: t[2]!,
    node: t[3] === ANY_NODE ? undefined : t[3],
    // the type as written (`email.send`, not its token `email=2Esend`)
    type: nameOfToken(t[4]!) ?? t[4]!,
    priority: Number(t[5]!.slice(1)),
    jobId: t[6] === FIRE_TOKEN ? undefined : t[6]!,
  };
}

/** Splits a job key back into its parts (`group` is the group's token: nameOfToken gives the name). */
export function parseJobKey(key: string): { tenant: string; group: string; id: string } | undefined {
  const parts = key.split(".");
  if (parts.length !== 3) return undefined;
  const [tenant, group, id] = parts as [string, string, string];
  return { tenant, group, id };
}
