/**
 * The fast lane: an immediate once job published straight to the run stream, with no scheduler in between.
 *
 *   subject   <p>.run.<tenant>.<node|_any>.<type token>.p<N>.<jobId>   (subjects.ts; the job's own tokens)
 *   payload   the job's input, as a `queue` request takes it (JobInputSchema), msgpack or JSON by
 *             Content-Type (JSON without the header is recognised by its leading `{`); `id` and `type`
 *             required; an immediate once job: no `delayMs`, `runAt`, `beginTime`, `intervalSeconds`,
 *             `endTime`, `cron`, and `jobType` once (the default)
 *   headers   Nats-Msg-Id = `<tenant>.<jobId>:q` (fastJobMsgId): the same job published twice inside the
 *             stream's duplicate window is stored once; Taskjet-Resent (RESENT_HEADER) on a copy sent again
 *             after an unknown outcome, which the worker checks against the store before it runs
 *   size      the payload is at most the producer's and the worker's maxJobBytes (DEFAULT_MAX_JOB_BYTES)
 *
 * Accepted means the PubAck: the message is stored (on a replicated stream, by a quorum) and is the job's
 * record until a worker has run it. A fire carries `fireId`; a fast-lane job never does: that is how a
 * worker tells them apart. A message that does not pass these rules is dead-lettered by the worker with the
 * reason (poison), like a malformed fire.
 *
 * The worker runs it as a fire built by fastFireOf: nominal time = the message's stream timestamp (when it
 * was accepted), fire id `<tenant>.<jobId>:<that ms>`, attempt 1, reason `schedule`, epoch 0.
 */
import type { JobView } from "./api.js";
import { ValidationError } from "./errors.js";
import type { FireMessage } from "./fire.js";
import { buildFire } from "./fire.js";
import {
  initialState,
  parseJobInput,
  priorities,
  priorityLevel,
  TOKEN_PATTERN,
  type JobDefinition,
  type JobInput,
  type JobRecord,
} from "./job.js";
import { MAX_ARGS_DEPTH, pathDeeperThan } from "./limits.js";
import { isName, subjectToken } from "./names.js";
import { ANY_NODE, type Namespace } from "./subjects.js";

/**
 * Set (to "1") by a producer on a fast-lane job it publishes again because the outcome of an earlier try is
 * unknown (a TIMEOUT, no answer). The stream's duplicate window normally stores such a copy once, but a
 * nats-server restart forgets the ids of messages already run and removed, so the copy would run again. A
 * worker given a resent copy asks the store first: a record of the same job accepted within
 * RESENT_WINDOW_MS before the copy means it ran (or is being retried by the scheduler), and the copy is acked
 * unrun. A producer that never resends needs nothing; one that does should set it.
 */
export const RESENT_HEADER = "Taskjet-Resent";
/** How far back a stored record counts as the same job as a resent copy: the longest a producer retries. */
export const RESENT_WINDOW_MS = 10 * 60_000;

/** Fields a fast-lane job must not have: it runs now, once. */
const NOT_FAST = ["delayMs", "runAt", "beginTime", "intervalSeconds", "endTime", "cron"] as const;

export function fastJobMsgId(tenantId: string, jobId: string): string {
  return `${tenantId}.${jobId}:q`;
}

/**
 * True when a job input goes by the fast lane: a once job that starts now (no delay, start time or
 * interval). Says nothing about validity.
 */
export function isImmediateOnce(input: JobInput | Record<string, unknown>): boolean {
  const j = input as Record<string, unknown>;
  return (j["jobType"] === undefined || j["jobType"] === "once") && NOT_FAST.every((k) => j[k] === undefined);
}

/**
 * Validates a fast-lane job (JobInputSchema plus the rules above); throws ValidationError naming the field.
 * `tenant` is the tenant the job goes to: a `tenantId` in the input must equal it.
 *
 * Every producer and every worker checks every fast-lane job, up to tens of thousands a second, and zod's
 * parse of the job schema costs about 25 µs. So a job of the common fields with plain values (simpleFastJob)
 * is checked field by field and completed with the schema's own defaults; anything else, every invalid job
 * included, goes through zod (parseFastJobStrict), which gives the error. test/fastJob.test.ts holds the two
 * together.
 */
export function parseFastJob(input: unknown, tenant: string, root?: string): JobDefinition {
  return simpleFastJob(input, tenant) ?? parseFastJobStrict(input, tenant, root);
}

const isPlainRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype;
const isTokenOf = (max: number) => (v: unknown) =>
  typeof v === "string" && v.length >= 1 && v.length <= max && TOKEN_PATTERN.test(v);
const isCount = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const prioritySet = new Set<unknown>(priorities);

/** The fields simpleFastJob checks itself, each with a rule never looser than the schema's. */
const SIMPLE_FIELDS: Readonly<Record<string, (v: unknown) => boolean>> = {
  id: isTokenOf(128),
  name: (v) => typeof v === "string" && v.length >= 1 && v.length <= 200,
  type: isName,
  group: isName,
  args: (v) => isPlainRecord(v) && pathDeeperThan(v, MAX_ARGS_DEPTH) === undefined,
  jobType: (v) => v === "once",
  priority: (v) => prioritySet.has(v),
  nodeName: isTokenOf(64),
  tenantId: isTokenOf(64),
  maxTryCount: isCount,
  timeoutSeconds: isCount,
  lockTimeoutSeconds: isCount,
  removeOnComplete: (v) => typeof v === "boolean",
  removeOnFail: (v) => typeof v === "boolean",
  description: (v) => typeof v === "string" && v.length <= 2000,
};

/** JobInputSchema's defaults (of every field a minimal job leaves out), computed once. */
let defaults: Record<string, unknown> | undefined;

/**
 * The definition zod would return for `input` when it is a simple fast-lane job (only SIMPLE_FIELDS, each
 * valid, `id`, `name` and `type` given, `tenantId` absent or `tenant`); undefined says nothing: ask zod.
 */
export function simpleFastJob(input: unknown, tenant: string): JobDefinition | undefined {
  if (!isPlainRecord(input)) return undefined;
  for (const k in input) {
    const rule = SIMPLE_FIELDS[k];
    if (rule === undefined || !rule(input[k])) return undefined;
  }
  if (input["id"] === undefined || input["name"] === undefined || input["type"] === undefined)
    return undefined;
  if (input["tenantId"] !== undefined && input["tenantId"] !== tenant) return undefined;
  if (!defaults) {
    const { name: _n, type: _t, ...rest } = parseJobInput({ name: "x", type: "x" });
    defaults = rest;
  }
  // copied key by key: object spread of these shapes costs ten times as much (measured: 20 µs against 2)
  const out = copyOf(defaults);
  // fresh containers: the defaults object is shared
  out["actions"] = [];
  out["args"] = {};
  for (const k in input) out[k] = input[k];
  out["tenantId"] = tenant;
  return out as unknown as JobDefinition;
}

/** parseFastJob through zod alone (the reference; errors name the field). */
export function parseFastJobStrict(input: unknown, tenant: string, root?: string): JobDefinition {
  const at = (f: string) => (root ? `${root}.${f}` : f);
  if (typeof input === "object" && input !== null && !Array.isArray(input)) {
    const t = (input as Record<string, unknown>)["tenantId"];
    if (t !== undefined && t !== tenant) {
      throw new ValidationError(`${at("tenantId")}: "${String(t)}" does not match the tenant "${tenant}"`, {
        field: at("tenantId"),
      });
    }
  }
  const parsed = parseJobInput(
    typeof input === "object" && input !== null && !Array.isArray(input)
      ? { ...input, tenantId: tenant }
      : input,
    root,
  );
  if (parsed.id === undefined) {
    throw new ValidationError(`${at("id")}: a fast-lane job needs its id (the subject's last token)`, {
      field: at("id"),
    });
  }
  if (parsed.jobType !== "once") {
    throw new ValidationError(`${at("jobType")}: the fast lane takes once jobs only`, {
      field: at("jobType"),
    });
  }
  for (const k of NOT_FAST) {
    if (parsed[k] !== undefined) {
      throw new ValidationError(`${at(k)}: a fast-lane job starts now; queue it through the API instead`, {
        field: at(k),
      });
    }
  }
  const { delayMs: _d, runAt: _r, ...def } = parsed;
  return { ...def, id: parsed.id };
}

/** What a producer publishes for a fast-lane job: subject, message id and the payload (the input). */
export interface FastJobMessage {
  def: JobDefinition;
  subject: string;
  msgId: string;
  /** the caller's input with `id` and `tenantId` set: what the worker parses again */
  payload: Record<string, unknown>;
  /** the payload encoded, where the producer measured it against maxJobBytes (published as is) */
  encoded?: Uint8Array;
}

/** Validates a job for the fast lane and addresses it. `id` is filled in by `newId` when the input has none. */
export function fastJobMessage(
  ns: Namespace,
  tenant: string,
  input: JobInput | Record<string, unknown>,
  newId: () => string,
  root?: string,
): FastJobMessage {
  const payload = copyOf(input);
  payload["id"] ??= newId();
  const def = parseFastJob(payload, tenant, root);
  payload["tenantId"] = tenant;
  return {
    def,
    subject: ns.run(tenant, def.nodeName, def.type, priorityLevel(def.priority), def.id),
    msgId: fastJobMsgId(tenant, def.id),
    payload,
  };
}

/** A shallow copy, key by key (see simpleFastJob: cheaper than a spread on this path). */
function copyOf(o: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in o) out[k] = (o as Record<string, unknown>)[k];
  return out;
}

/**
 * Checks a fast-lane job against the subject it came by (`<p>.run.<tenant>.<node>.<type>.p<N>.<jobId>`):
 * tenant, node, type, priority and id must be the subject's, so a job can never run on another node, under
 * another type's handler or in another tenant. Returns the job's definition; throws ValidationError.
 */
export function parseFastJobOnSubject(value: unknown, subject: string): JobDefinition {
  const t = subject.split(".");
  const tenant = t[2] ?? "";
  const def = parseFastJob(value, tenant);
  const mismatch = (field: string, got: string, want: string | undefined) =>
    new ValidationError(`${field}: "${got}" does not match the subject's "${want ?? ""}"`, { field });
  const node = def.nodeName ?? ANY_NODE;
  if (node !== t[3]) throw mismatch("nodeName", node, t[3]);
  if (subjectToken(def.type) !== t[4]) throw mismatch("type", def.type, t[4]);
  const p = `p${priorityLevel(def.priority)}`;
  if (p !== t[5]) throw mismatch("priority", `${def.priority} (${p})`, t[5]);
  if (def.id !== t[6]) throw mismatch("id", def.id, t[6]);
  return def;
}

/** The fire a worker runs for a fast-lane job accepted (stored in the stream) at `acceptedMs`. */
export function fastFireOf(def: JobDefinition, acceptedMs: number): FireMessage {
  return buildFire(
    def, // a once job: parseFastJob refuses any other
    { nominalMs: acceptedMs, attempt: 1, reason: "schedule", last: true },
    // there is no stored record to track the run in while it runs: the message is the record
    { epoch: 0, firedAtIso: new Date(acceptedMs).toISOString(), trackRunning: false },
  );
}

/**
 * The record of a fast-lane job as if it had been stored at acceptance (status queuing, created then): what
 * `get` shows while it waits, and what a worker applies the run's outcome to before its one store write.
 */
export function fastRecordOf(def: JobDefinition, acceptedMs: number): JobRecord {
  return { def, state: initialState(new Date(acceptedMs).toISOString()) };
}

/**
 * The API's view of a fast-lane job that waits in the run stream: status queuing, revision 0 (it is not in
 * the store). `acceptedMs`: the message's stream timestamp (a producer that has only the PubAck uses its
 * own clock: close, not exact).
 */
export function fastJobView(def: JobDefinition, acceptedMs: number): JobView {
  const r = fastRecordOf(def, acceptedMs);
  return { ...r.def, ...r.state, revision: 0 } as JobView;
}
