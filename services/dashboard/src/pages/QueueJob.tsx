/**
 * Queue a job: a JSON editor checked as you type against the protocol's job schema (validate.ts), each
 * problem named by its field; the gateway checks again on submit (and names the field of anything only it
 * can judge, such as a cron expression that never fires or args a worker's schema refuses).
 */
import { useMemo, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { jobHref } from "../router";
import { useCanAct } from "../session";
import type { JobView } from "../types";
import { checkJobInput, type FieldProblem } from "../validate";
import { ErrorLine } from "../components/ui";

const TEMPLATE = JSON.stringify(
  {
    name: "say hello",
    type: "console",
    group: "default",
    jobType: "period",
    cron: "0 */5 * * * ?",
    timeZone: "UTC",
    args: { message: "hello from the dashboard" },
  },
  null,
  2,
);

export function QueueJob() {
  const canAct = useCanAct();
  const [text, setText] = useState(TEMPLATE);
  const [serverProblems, setServerProblems] = useState<FieldProblem[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const [created, setCreated] = useState<{ job: JobView; warnings?: string[] } | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const check = useMemo(() => checkJobInput(text), [text]);

  if (!canAct) {
    return (
      <>
        <h1>Queue a job</h1>
        <p>This token is read-only: it cannot queue jobs.</p>
      </>
    );
  }
  const submit = async (e: Event) => {
    e.preventDefault();
    if (check.problems.length > 0) return;
    setBusy(true);
    setError(undefined);
    setServerProblems([]);
    setCreated(undefined);
    try {
      setCreated(await api<{ job: JobView; warnings?: string[] }>("POST", "/v1/jobs", check.value));
    } catch (err) {
      if (err instanceof ApiError && err.body.details?.issues) setServerProblems(err.body.details.issues);
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const problems = check.problems;
  return (
    <>
      <h1>Queue a job</h1>
      <form class="queue" onSubmit={(e) => void submit(e)}>
        <label for="job-json">Job (JSON, schema job-input.json)</label>
        <textarea
          id="job-json"
          class="mono"
          spellcheck={false}
          rows={18}
          value={text}
          aria-invalid={problems.length > 0}
          aria-describedby="job-problems"
          onInput={(e) => setText(e.currentTarget.value)}
        />
        <div id="job-problems" aria-live="polite">
          {problems.length === 0 ? (
            <p class="ok-text">matches the job schema</p>
          ) : (
            <Problems label="problems in the job" problems={problems} />
          )}
        </div>
        <div class="actions">
          <button type="submit" disabled={busy || problems.length > 0}>
            Queue job
          </button>
          <button type="button" class="secondary" onClick={() => setText(TEMPLATE)}>
            Reset to the example
          </button>
        </div>
      </form>
      <ErrorLine error={error} />
      {serverProblems.length > 0 && <Problems label="problems the gateway found" problems={serverProblems} />}
      {created && (
        <p role="status" class="ok-text">
          Queued <a href={jobHref(created.job.id)}>{created.job.id}</a>
          {created.warnings ? ` (${created.warnings.join("; ")})` : ""}
        </p>
      )}
    </>
  );
}

/** Each problem as `field: message`. */
function Problems({ label, problems }: { label: string; problems: FieldProblem[] }) {
  return (
    <ul class="problems" aria-label={label}>
      {problems.map((p) => (
        <li key={`${p.field}:${p.message}`}>
          <strong class="mono">{p.field}</strong>: {p.message}
        </li>
      ))}
    </ul>
  );
}
