/**
 * Where a job action of kind `publish` may publish. A tenant writes its jobs' actions (control API, REST
 * gateway), but a worker publishes them with its own, wide NATS permissions: the subject is the tenant's
 * one way onto the bus, so it must stay inside the tenant's own event namespace or what an operator allowed,
 * and never reach taskjet's internals (the job and lease buckets, the run stream, the API) or another tenant.
 *
 * The rule (docs/protocol.md, "Action subjects"), checked by the scheduler when a job is queued or updated
 * (INVALID_ARGUMENT naming `actions.<i>.subject`) and again by the worker right before it publishes:
 *
 *   1. a NATS subject to publish to: non-empty tokens separated by single dots, no wildcards, no whitespace;
 *   2. reserved, always refused (an allow-list cannot open them): a first token starting with `$`
 *      ($JS, $KV, $O, $SYS, ...) or `_` (_INBOX and other reply subjects), and every subject under
 *      `<p>.` (api, run, ctl, sys, log, dlq, other tenants' events) except rule 3;
 *   3. `<p>.evt.<tenant>.>` of the job's own tenant: allowed (any subject in it, also one shaped like an
 *      event of the tenant's own jobs: subscribers that need to tell them apart check `ce-source`);
 *   4. anything else: allowed only when it matches one of the operator's patterns (NATS wildcards `*`, `>`),
 *      `TASKJET_ACTION_SUBJECT_ALLOW` / option `actionSubjectAllow` of the scheduler and the worker.
 *
 * Pure: no I/O, the same answer in every process.
 */
import { ValidationError } from "./errors.js";

/** What the rule needs besides the subject: the deployment's prefix, the job's tenant, the operator's list. */
export interface ActionSubjectScope {
  prefix: string;
  tenant: string;
  /** operator-allowed subject patterns (already checked with parseSubjectPatterns) */
  allow?: readonly string[];
}

const TOKEN_CHARS = /^[^\s.*>]+$/;

/** Why `pattern` is not a valid NATS subject pattern, or undefined when it is. */
function patternProblem(pattern: string): string | undefined {
  const tokens = pattern.split(".");
  for (const [i, t] of tokens.entries()) {
    if (t === "*" || (t === ">" && i === tokens.length - 1)) continue;
    if (!TOKEN_CHARS.test(t)) {
      return t === ">"
        ? `"${pattern}": ">" may only be the last token`
        : `"${pattern}" is not a NATS subject pattern (empty token, whitespace, or a wildcard inside a token)`;
    }
  }
  return undefined;
}

/**
 * Operator subject patterns from a list or a comma-separated string (env). Throws ValidationError naming
 * `field` (and the entry's index) for an entry that is not a NATS subject pattern.
 */
export function parseSubjectPatterns(raw: string | readonly string[] | undefined, field: string): string[] {
  if (raw === undefined) return [];
  const list = typeof raw === "string" ? raw.split(",") : [...raw];
  const out: string[] = [];
  for (const [i, entry] of list.entries()) {
    const p = entry.trim();
    if (p === "" && typeof raw === "string") continue; // "a,,b" or a trailing comma in an env value
    const problem = patternProblem(p);
    const at = typeof raw === "string" ? field : `${field}.${i}`;
    if (problem) throw new ValidationError(`${at}: ${problem}`, { field: at });
    out.push(p);
  }
  return out;
}

/** NATS subject matching: `*` matches one token, a final `>` one or more. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    const t = p[i];
    if (t === ">") return s.length > i;
    if (i >= s.length) return false;
    if (t !== "*" && t !== s[i]) return false;
  }
  return p.length === s.length;
}

/** Why a `publish` action may not publish to `subject` for this tenant, or undefined when it may. */
export function actionSubjectRefusal(subject: string, scope: ActionSubjectScope): string | undefined {
  const tokens = subject.split(".");
  if (!tokens.every((t) => TOKEN_CHARS.test(t))) {
    return `"${subject}" is not a NATS subject to publish to (empty token, whitespace or wildcard)`;
  }
  const first = tokens[0]!;
  if (first.startsWith("$") || first.startsWith("_")) {
    return `"${subject}" is a reserved subject (first token starting with "$" or "_": JetStream, KV, system, inboxes)`;
  }
  const own = `${scope.prefix}.evt.${scope.tenant}`;
  if (first === scope.prefix) {
    if (tokens.length > 3 && tokens[1] === "evt" && tokens[2] === scope.tenant) return undefined;
    if (tokens[1] === "evt" && tokens[2] !== undefined && tokens[2] !== scope.tenant) {
      return `"${subject}" is in another tenant's event namespace; tenant "${scope.tenant}" may publish under ${own}.>`;
    }
    return `"${subject}" is an internal taskjet subject; tenant "${scope.tenant}" may publish under ${own}.>`;
  }
  if (scope.allow?.some((p) => subjectMatches(p, subject))) return undefined;
  return (
    `"${subject}" is outside tenant "${scope.tenant}"'s event namespace (${own}.>) and matches no ` +
    `operator-allowed pattern (TASKJET_ACTION_SUBJECT_ALLOW)`
  );
}

export function actionSubjectAllowed(subject: string, scope: ActionSubjectScope): boolean {
  return actionSubjectRefusal(subject, scope) === undefined;
}

/**
 * Checks every `publish` action of a job; throws ValidationError naming the first refused one's field,
 * `<root>.actions.<i>.subject` (`actions.<i>.subject` without a root).
 */
export function assertActionSubjects(
  actions: ReadonlyArray<{ kind: string; subject?: string }>,
  scope: ActionSubjectScope,
  root?: string,
): void {
  for (const [i, action] of actions.entries()) {
    if (action.kind !== "publish" || action.subject === undefined) continue;
    const refusal = actionSubjectRefusal(action.subject, scope);
    if (refusal === undefined) continue;
    const field = `${root ? `${root}.` : ""}actions.${i}.subject`;
    throw new ValidationError(`${field}: ${refusal}`, { field });
  }
}
