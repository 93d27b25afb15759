/**
 * A fire: one dispatch of a job, published by the leader to `<p>.run.<tenant>.<node|_any>.<type>.<pN>.<jobId>`
 * (JetStream).
 *
 * Headers: `Nats-Msg-Id` = fire id + (for retries) `:a<attempt>`, so the same fire published twice inside the
 * stream's duplicate window is stored once; `Taskjet-Epoch` = the leader's lease revision; `Content-Type`.
 * The fire id is `<tenant>.<jobId>:<nominal ms>`: an idempotency key a handler can rely on.
 */
import { z } from "zod";
import { jobTypes, overlapPolicies, priorities, token, TOKEN_PATTERN, type JobDefinition } from "./job.js";
import { isName, printableName } from "./names.js";
import { parseOrThrow } from "./validate.js";

export const fireReasons = ["schedule", "trigger", "retry", "catchUp"] as const;
export type FireReason = (typeof fireReasons)[number];

export const FireMessageSchema = z.object({
  fireId: z.string().min(1),
  jobId: token("jobId", 128),
  tenantId: token("tenantId"),
  group: printableName("group"),
  name: z.string(),
  type: printableName("type"),
  jobType: z.enum(jobTypes),
  args: z.record(z.string(), z.unknown()),
  priority: z.enum(priorities),
  nodeName: token("nodeName").optional(),
  /** the schedule's nominal time of this fire (ISO 8601) */
  nominalTime: z.iso.datetime({ offset: true }),
  /** when the leader published it */
  firedAt: z.iso.datetime({ offset: true }),
  /** 1 for the first try, n for the n-th retry of the same nominal fire */
  attempt: z.number().int().positive(),
  reason: z.enum(fireReasons),
  /** the leader's lease revision */
  epoch: z.number().int().nonnegative(),
  maxTryCount: z.number().int().nonnegative(),
  timeoutSeconds: z.number().int().nonnegative(),
  lockTimeoutSeconds: z.number().int().nonnegative(),
  overlapPolicy: z.enum(overlapPolicies),
  /** the schedule's next nominal time after this one, if any (workers write it as nextRunTime) */
  nextNominalTime: z.iso.datetime({ offset: true }).optional(),
  /** true when no fire follows this one (maxCount or endTime reached, or a once job) */
  last: z.boolean(),
  /** the worker records the run in `state.running` (needed by overlap policies other than allow, and locks) */
  trackRunning: z.boolean(),
  /**
   * the job's store revision the leader planned this fire from: a worker may run the fire from its own copy
   * of the job when that copy is at least this new, instead of reading the job first (docs/worker.md)
   */
  revision: z.number().int().positive().optional(),
});
export type FireMessage = z.output<typeof FireMessageSchema>;

export function fireIdOf(tenantId: string, jobId: string, nominalMs: number): string {
  return `${tenantId}.${jobId}:${nominalMs}`;
}

/** The schedule's part of a fire: which nominal time, which try, why, and what follows it. */
export interface FirePlan {
  nominalMs: number;
  attempt: number;
  reason: FireReason;
  /** no fire follows this one */
  last: boolean;
  /** the schedule's next nominal time after this one, if any */
  nextNominalMs?: number | undefined;
}

/** Who sent a fire and from what: the leader's epoch, when, the store revision it was planned from. */
export interface FireStamp {
  epoch: number;
  firedAtIso: string;
  revision?: number | undefined;
  /** default: the job has a lock or an overlap policy other than allow (what the scheduler sends) */
  trackRunning?: boolean;
}

/** The definition fields a fire carries. */
export type FireJobFields = Pick<
  JobDefinition,
  | "id"
  | "tenantId"
  | "group"
  | "name"
  | "type"
  | "jobType"
  | "args"
  | "priority"
  | "nodeName"
  | "maxTryCount"
  | "timeoutSeconds"
  | "lockTimeoutSeconds"
  | "overlapPolicy"
>;

/**
 * The one way a FireMessage is made: by the scheduler for every fire it publishes, and by the test tools
 * for the fires tests publish, so the two cannot drift apart.
 */
export function buildFire(def: FireJobFields, plan: FirePlan, stamp: FireStamp): FireMessage {
  const fire: FireMessage = {
    fireId: fireIdOf(def.tenantId, def.id, plan.nominalMs),
    jobId: def.id,
    tenantId: def.tenantId,
    group: def.group,
    name: def.name,
    type: def.type,
    jobType: def.jobType,
    args: def.args ?? {},
    priority: def.priority,
    nominalTime: isoOf(plan.nominalMs),
    firedAt: stamp.firedAtIso,
    attempt: plan.attempt,
    reason: plan.reason,
    epoch: stamp.epoch,
    maxTryCount: def.maxTryCount,
    timeoutSeconds: def.timeoutSeconds,
    lockTimeoutSeconds: def.lockTimeoutSeconds,
    overlapPolicy: def.overlapPolicy,
    last: plan.last,
    trackRunning: stamp.trackRunning ?? (def.overlapPolicy !== "allow" || def.lockTimeoutSeconds > 0),
  };
  if (def.nodeName !== undefined) fire.nodeName = def.nodeName;
  if (plan.nextNominalMs !== undefined) fire.nextNominalTime = isoOf(plan.nextNominalMs);
  if (stamp.revision !== undefined && stamp.revision > 0) fire.revision = stamp.revision;
  return fire;
}

/**
 * ISO 8601 of an instant, remembering the last two asked: a burst's fires share their nominal and next
 * nominal times (10,000 fires of one second ask for the same two strings).
 */
const isoMs = [Number.NaN, Number.NaN];
const isoText = ["", ""];
let isoNext = 0;
function isoOf(ms: number): string {
  if (isoMs[0] === ms) return isoText[0]!;
  if (isoMs[1] === ms) return isoText[1]!;
  const text = new Date(ms).toISOString();
  isoMs[isoNext] = ms;
  isoText[isoNext] = text;
  isoNext ^= 1;
  return text;
}

/** The Nats-Msg-Id of a fire: retries of the same nominal fire are distinct messages. */
export function fireMsgId(fireId: string, attempt: number): string {
  return attempt <= 1 ? fireId : `${fireId}:a${attempt}`;
}

/**
 * How many finished runs a job's `state.doneRuns` remembers. A fire whose ack was lost comes back after the
 * consumer's ack wait (30 s); by then a job firing every second has finished about 30 later runs, so 64
 * keeps a redelivery recognisable with room to spare.
 */
export const DONE_RUNS_KEPT = 64;

/**
 * A run's key in `state.doneRuns`: its Nats-Msg-Id without the `<tenant>.<jobId>:` of the fire id, i.e. the
 * nominal time in ms, plus `:a<attempt>` for a retry (`1767225600000`, `1767225600000:a2`).
 */
export function runKeyOf(fire: Pick<FireMessage, "fireId" | "attempt">): string {
  const nominal = fire.fireId.slice(fire.fireId.lastIndexOf(":") + 1);
  return fire.attempt <= 1 ? nominal : `${nominal}:a${fire.attempt}`;
}

/** `done` with `key` appended, the oldest dropped past DONE_RUNS_KEPT. */
export function withDoneRun(done: readonly string[] | undefined, key: string): string[] {
  // once per run on the outcome write: no Map for a single key
  const out = done === undefined ? [] : done.filter((k) => k !== key);
  out.push(key);
  return out.length > DONE_RUNS_KEPT ? out.slice(out.length - DONE_RUNS_KEPT) : out;
}

/**
 * `done` with `keys` appended in order (a key already there moves to its new place), the oldest dropped past
 * DONE_RUNS_KEPT: what withDoneRun key by key gives, in one pass (a coalesced write folds in many runs).
 */
export function withDoneRuns(done: readonly string[] | undefined, keys: readonly string[]): string[] {
  if (keys.length === 0) return done === undefined ? [] : [...done];
  // a key appended twice keeps its last place
  const last = new Map<string, number>();
  for (let i = 0; i < keys.length; i++) last.set(keys[i]!, i);
  const out: string[] = [];
  if (done !== undefined) for (const k of done) if (!last.has(k)) out.push(k);
  for (let i = 0; i < keys.length; i++) if (last.get(keys[i]!) === i) out.push(keys[i]!);
  return out.length > DONE_RUNS_KEPT ? out.slice(out.length - DONE_RUNS_KEPT) : out;
}

/**
 * FireMessageSchema's parse, fast for the fires a leader publishes. Every worker checks every fire (up to
 * 10,000 a second), and zod's object parse costs more than decoding the message. So a fire is first
 * checked field by field against the same rules (wellFormedFire); one that passes is what zod would return
 * (the same fields and values: no unknown field to strip, nothing to default or coerce) and is used as it
 * is. Anything else, including every malformed fire, goes through zod, which gives its error. The rules are
 * stricter than or equal to the schema's, never looser; test/fire.test.ts checks both agree field by field.
 */
export function parseFire(value: unknown): FireMessage {
  return wellFormedFire(value) ? value : parseOrThrow(FireMessageSchema, value);
}

const jobTypeSet = new Set<string>(jobTypes);
const prioritySet = new Set<string>(priorities);
const reasonSet = new Set<string>(fireReasons);
const overlapSet = new Set<string>(overlapPolicies);
const isoDateTime = FireMessageSchema.shape.nominalTime;
/** date-times seen valid lately: a burst's fires share their nominal times */
const validTimes = new Set<string>();

const isToken = (v: unknown, max = 64): boolean =>
  typeof v === "string" && v.length >= 1 && v.length <= max && TOKEN_PATTERN.test(v);
const isCount = (v: unknown, min: number): boolean =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= min;
const isPlainRecord = (v: unknown): boolean =>
  v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype;

function isTime(v: unknown): boolean {
  if (typeof v !== "string") return false;
  if (validTimes.has(v)) return true;
  if (!isoDateTime.safeParse(v).success) return false;
  if (validTimes.size >= 64) validTimes.clear();
  validTimes.add(v);
  return true;
}

/** The fields wellFormedFire knows; a fire with any other is left to zod (which strips it). */
const FIRE_FIELDS = new Set(Object.keys(FireMessageSchema.shape));

/** True when `v` passes FireMessageSchema unchanged (see parseFire); false says nothing: ask zod. */
export function wellFormedFire(v: unknown): v is FireMessage {
  if (!isPlainRecord(v)) return false;
  const f = v as Record<string, unknown>;
  // own keys only: the prototype is Object.prototype
  for (const k in f) if (!FIRE_FIELDS.has(k)) return false;
  return (
    typeof f.fireId === "string" &&
    f.fireId.length >= 1 &&
    isToken(f.jobId, 128) &&
    isToken(f.tenantId) &&
    isName(f.group) &&
    typeof f.name === "string" &&
    isName(f.type) &&
    typeof f.jobType === "string" &&
    jobTypeSet.has(f.jobType) &&
    isPlainRecord(f.args) &&
    typeof f.priority === "string" &&
    prioritySet.has(f.priority) &&
    (f.nodeName === undefined || isToken(f.nodeName)) &&
    isTime(f.nominalTime) &&
    isTime(f.firedAt) &&
    isCount(f.attempt, 1) &&
    typeof f.reason === "string" &&
    reasonSet.has(f.reason) &&
    isCount(f.epoch, 0) &&
    isCount(f.maxTryCount, 0) &&
    isCount(f.timeoutSeconds, 0) &&
    isCount(f.lockTimeoutSeconds, 0) &&
    typeof f.overlapPolicy === "string" &&
    overlapSet.has(f.overlapPolicy) &&
    (f.nextNominalTime === undefined || isTime(f.nextNominalTime)) &&
    typeof f.last === "boolean" &&
    typeof f.trackRunning === "boolean" &&
    (f.revision === undefined || isCount(f.revision, 1))
  );
}
