/**
 * What a finished run writes to the job's state: pure functions of (stored record, fire, outcome, now), so
 * the same step re-applies cleanly when a compare-and-set loses to a concurrent writer.
 *
 * Counters: triggerCount is the scheduler's (it counts fires as it dispatches them); the worker owns tryCount
 * (consecutive failures, reset by a success), lastRunTime, result, lastError, retryAt and isAbandoned.
 * Aborted and skipped fires change no counter. A run that succeeded or failed is added to doneRuns (an
 * aborted one was not finished: its fire may run again).
 */
import {
  runKeyOf,
  schedulerCountsFires,
  withDoneRun,
  type FireMessage,
  type JobRecord,
  type JobState,
  type RunInfo,
} from "@taskjet/protocol";

export type RunResult =
  | { kind: "succeeded"; result: unknown }
  | {
      kind: "failed";
      error: string;
      /** NonRetryableError, args mismatch, no handler: abandon at once */
      nonRetryable: boolean;
      /** RetryAfterError */
      retryAfterMs?: number;
      timedOut: boolean;
    }
  | { kind: "aborted"; reason: string };

export interface Backoff {
  baseMs: number;
  maxMs: number;
  random?: () => number;
}

/**
 * Delay before the n-th retry (n = tryCount after the failure, 1-based):
 * min(baseMs * 2^(n-1), maxMs) * (0.5 + random()), i.e. 0.5..1.5 of 1 s, 2 s, 4 s, ... capped at 1 h.
 */
export function backoffMs(n: number, b: Backoff): number {
  const exp = Math.min(b.baseMs * 2 ** Math.max(0, Math.min(n - 1, 40)), b.maxMs);
  return Math.round(exp * (0.5 + (b.random ?? Math.random)()));
}

export interface Applied {
  record: JobRecord;
  /** the failure abandons the job: dead letter + deadletter event */
  abandoned: boolean;
  /** the job reached `completed` with this run (for `completed` actions) */
  completed: boolean;
  retryAt?: string;
}

/**
 * The keys of a `doneRuns` array as a set, built once per array. A job's doneRuns (up to 64 keys) is asked
 * about twice per run, and the same array serves every run until the job is written again (every few seconds
 * for a coalesced frequent job): a linear search was 7-10 % of a worker's CPU at 10,000 fires a second.
 * Arrays are never changed in place (withDoneRun copies), so a set stays right for its array.
 */
const doneSets = new WeakMap<readonly string[], ReadonlySet<string>>();

/** True when the fire's run finished already (its outcome is in the store): it must not run again. */
export function ranAlready(rec: JobRecord, fire: Pick<FireMessage, "fireId" | "attempt">): boolean {
  const done = rec.state.doneRuns;
  if (done === undefined || done.length === 0) return false;
  let set = doneSets.get(done);
  if (set === undefined) doneSets.set(done, (set = new Set(done)));
  return set.has(runKeyOf(fire));
}

/** Statuses a run must not overwrite: someone paused or stopped the job while it ran. */
export const held: ReadonlySet<string> = new Set(["paused", "stopped"]);

export function withoutRun(running: RunInfo[] | undefined, fireId: string): RunInfo[] {
  if (!running || running.length === 0) return running ?? [];
  return running.filter((r) => r.fireId !== fireId);
}

/**
 * A copy of `prev` without `drop` and without undefined fields. Never `delete` on the hot path: it turns
 * the object into a slow dictionary, and msgpack has no "undefined".
 */
export function copyState(prev: JobState, drop: ReadonlyArray<keyof JobState>): JobState {
  const out: Record<string, unknown> = {};
  for (const k in prev) {
    const v = (prev as Record<string, unknown>)[k];
    if (v !== undefined && !drop.includes(k as keyof JobState)) out[k] = v;
  }
  return out as JobState;
}

export const DROP_ON_SUCCESS = ["lastError", "retryAt", "result"] as const;
const DROP_ON_SUCCESS_LAST = ["lastError", "retryAt", "result", "nextRunTime"] as const;
const DROP_RETRY = ["retryAt"] as const;
const DROP_RETRY_LAST = ["retryAt", "nextRunTime"] as const;

/**
 * Unlimited recurring jobs are not counted by the scheduler (see schedulerCountsFires): the worker counts
 * each scheduled fire once, in its end-of-run write, when the fire is newer than lastFireTime (so a
 * redelivered fire is not counted twice). Manual triggers and retries are not scheduled fires.
 */
function countFire(state: JobState, prev: JobState, def: JobRecord["def"], fire: FireMessage): void {
  if (schedulerCountsFires(def) || (fire.reason !== "schedule" && fire.reason !== "catchUp")) return;
  const nominalMs = Date.parse(fire.nominalTime);
  const lastMs = prev.lastFireTime === undefined ? Number.NEGATIVE_INFINITY : Date.parse(prev.lastFireTime);
  if (!(nominalMs > lastMs)) return;
  state.lastFireTime = fire.nominalTime;
  state.triggerCount = (prev.triggerCount ?? 0) + 1;
}

/** The state after `result`; `startedAt` is an ISO time. */
export function applyResult(
  current: JobRecord,
  fire: FireMessage,
  result: RunResult,
  startedAt: string,
  now: Date,
  backoff: Backoff,
): Applied {
  const nowIso = now.toISOString();
  const prev = current.state;
  const keepStatus = held.has(prev.status);
  const recurring = current.def.jobType !== "once";
  const noNext = fire.nextNominalTime === undefined && fire.last;

  if (result.kind === "aborted") {
    const state = copyState(prev, []);
    state.updatedAt = nowIso;
    state.running = withoutRun(prev.running, fire.fireId);
    return { record: { def: current.def, state }, abandoned: false, completed: false };
  }

  const succeeded = result.kind === "succeeded";
  const state = copyState(
    prev,
    succeeded ? (noNext ? DROP_ON_SUCCESS_LAST : DROP_ON_SUCCESS) : noNext ? DROP_RETRY_LAST : DROP_RETRY,
  );
  const out: Applied = { record: { def: current.def, state }, abandoned: false, completed: false };
  state.updatedAt = nowIso;
  state.running = withoutRun(prev.running, fire.fireId);
  state.lastRunTime = startedAt;
  if (fire.nextNominalTime !== undefined) state.nextRunTime = fire.nextNominalTime;
  countFire(state, prev, current.def, fire);
  state.doneRuns = withDoneRun(prev.doneRuns, runKeyOf(fire));

  if (result.kind === "succeeded") {
    state.tryCount = 0;
    if (result.result !== undefined) state.result = result.result;
    state.isAbandoned = false;
    if (!keepStatus) {
      const done = !recurring || fire.last;
      state.status = done ? "completed" : "queuing";
      out.completed = done;
    }
    return out;
  }

  state.tryCount = (prev.tryCount ?? 0) + 1;
  state.lastError = result.error;
  const maxTry = current.def.maxTryCount ?? fire.maxTryCount;
  if (result.nonRetryable || (maxTry > 0 && state.tryCount >= maxTry)) {
    state.status = "stopped";
    state.isAbandoned = true;
    out.abandoned = true;
    return out;
  }
  if (recurring) {
    // a period/persistent job is not retried separately: its next fire is the retry
    if (!keepStatus) state.status = fire.last ? "completed" : "queuing";
    out.completed = !keepStatus && fire.last;
    return out;
  }
  const delay = result.retryAfterMs ?? backoffMs(state.tryCount, backoff);
  state.retryAt = new Date(now.getTime() + delay).toISOString();
  out.retryAt = state.retryAt;
  if (!keepStatus) state.status = "failedRetry";
  return out;
}

/**
 * Adds this run to `state.running` (trackRunning), replacing a stale entry of the same fire, and marks the
 * job `running` (the seed's Running; the scheduler's reaper turns it back to queuing if this worker dies).
 */
export function withRunning(current: JobRecord, entry: RunInfo, nowIso: string): JobRecord {
  const state = copyState(current.state, []);
  state.updatedAt = nowIso;
  state.running = [...withoutRun(current.state.running, entry.fireId), entry];
  if (!held.has(state.status)) state.status = "running";
  return { def: current.def, state };
}

/** Removes an aborted run from `state.running`; the job is queuing again when it was the last one. */
export function withoutAbortedRun(current: JobRecord, fireId: string, nowIso: string): JobRecord {
  const state = copyState(current.state, []);
  state.updatedAt = nowIso;
  state.running = withoutRun(current.state.running, fireId);
  if (state.status === "running" && state.running.length === 0) state.status = "queuing";
  return { def: current.def, state };
}
