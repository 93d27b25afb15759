/**
 * One job: definition and state, the next 10 fire times (DST shifts marked), the run log, live events, and
 * the actions (trigger, pause/resume, stop/start, remove, edit the cron with a live preview).
 */
import { useEffect, useState } from "preact/hooks";
import { api, get, query } from "../api";
import { streamEvents } from "../events";
import { useLoad } from "../hooks";
import { useCanAct } from "../session";
import type { FireTime, JobEvent, JobView, LogsResult } from "../types";
import { Badge, Card, ErrorLine, Json, TableHead, TableWrap, when } from "../components/ui";

const MAX_LIVE_EVENTS = 50;

export function JobDetail({ id }: { id: string }) {
  const canAct = useCanAct();
  const job = useLoad(() => get<{ job: JobView }>(`/v1/jobs/${encodeURIComponent(id)}`), [id], 5000);
  const logs = useLoad(() => get<LogsResult>(`/v1/jobs/${encodeURIComponent(id)}/logs?limit=20`), [id], 5000);
  const [actionError, setActionError] = useState<unknown>(undefined);
  const [note, setNote] = useState("");
  const [removed, setRemoved] = useState(false);
  const j = job.data?.job;

  const act = async (op: string) => {
    setActionError(undefined);
    try {
      if (op === "remove") {
        if (!window.confirm(`Remove job ${id}?`)) return;
        await api("DELETE", `/v1/jobs/${encodeURIComponent(id)}?force=true`);
        setRemoved(true);
        setNote(`job ${id} removed`);
        return;
      }
      await api("POST", `/v1/jobs/${encodeURIComponent(id)}/${op}`);
      setNote(`${op}: done`);
      await Promise.all([job.reload(), logs.reload()]);
    } catch (err) {
      setActionError(err);
    }
  };

  if (removed) {
    return (
      <>
        <h1>Job {id}</h1>
        <p role="status">{note}</p>
        <p>
          <a href="#/jobs">Back to jobs</a>
        </p>
      </>
    );
  }
  if (!j) {
    return (
      <>
        <h1>Job {id}</h1>
        <ErrorLine error={job.error} />
        {!job.error && <p class="muted">loading…</p>}
      </>
    );
  }
  const paused = j.status === "paused";
  const stopped = j.status === "stopped" || j.status === "completed";
  const actButton = (op: string, label: string, cls?: string) => (
    <button type="button" class={cls} onClick={() => void act(op)}>
      {label}
    </button>
  );
  return (
    <>
      <h1>
        {j.name} <Badge value={j.status} />
      </h1>
      <p class="muted mono">
        {j.id} · group {j.group} · type {j.type} · {j.jobType}
      </p>
      {canAct && (
        <div class="actions" role="toolbar" aria-label="job actions">
          {actButton("trigger", "Trigger now")}
          {paused ? actButton("resume", "Resume", "secondary") : actButton("pause", "Pause", "secondary")}
          {stopped ? actButton("start", "Start", "secondary") : actButton("stop", "Stop", "secondary")}
          {actButton("remove", "Remove", "danger")}
          {note && (
            <span class="muted" role="status">
              {note}
            </span>
          )}
        </div>
      )}
      <ErrorLine error={actionError} />

      <div class="grid">
        <Card title="State">
          <dl class="kv">
            <dt>status</dt>
            <dd>{j.status}</dd>
            <dt>schedule</dt>
            <dd class="mono">
              {j.cron
                ? `${j.cron} (${j.cronDialect}, ${j.timeZone})`
                : j.intervalSeconds
                  ? `every ${j.intervalSeconds} s`
                  : "once"}
            </dd>
            <dt>next run</dt>
            <dd>{when(j.nextRunTime)}</dd>
            <dt>last run</dt>
            <dd>{when(j.lastRunTime)}</dd>
            <dt>fired</dt>
            <dd>
              {j.triggerCount} times{j.maxCount ? ` of ${j.maxCount}` : ""}
            </dd>
            <dt>tries</dt>
            <dd>
              {j.tryCount} of {j.maxTryCount}
              {j.isAbandoned ? " (abandoned)" : ""}
            </dd>
            <dt>last error</dt>
            <dd>{j.lastError ?? "—"}</dd>
            <dt>node</dt>
            <dd>{j.nodeName ?? "any"}</dd>
          </dl>
        </Card>
        <NextFires job={j} canEdit={canAct} onSaved={() => void job.reload()} />
      </div>

      <Card title="Run log">
        <ErrorLine error={logs.error} />
        <TableWrap label="run log">
          <TableHead
            columns={["finished", "outcome", "attempt", "duration", "nominal time", "error or result"]}
          />
          <tbody>
            {runLogRows(logs.data?.entries ?? []).map((e) => (
              <tr key={`${e.fireId}/${e.attempt}/${e.outcome}`}>
                <td>{when(e.finishedAt)}</td>
                <td>
                  <Badge value={e.outcome} />
                </td>
                <td>{e.attempt}</td>
                <td>{e.durationMs === undefined ? "—" : `${e.durationMs} ms`}</td>
                <td>{when(e.nominalTime)}</td>
                <td class={e.error ? "error-text" : "mono"}>
                  {e.error ?? e.reason ?? (e.result === undefined ? "" : JSON.stringify(e.result))}
                </td>
              </tr>
            ))}
            {logs.data?.entries.length === 0 && (
              <tr>
                <td colSpan={6}>no runs yet</td>
              </tr>
            )}
          </tbody>
        </TableWrap>
      </Card>

      <LiveEvents jobId={j.id} onEvent={() => void Promise.all([job.reload(), logs.reload()])} />

      <Card title="Definition">
        <Json value={definitionOf(j)} label="job definition" />
      </Card>
    </>
  );
}

function NextFires({ job, canEdit, onSaved }: { job: JobView; canEdit: boolean; onSaved: () => void }) {
  const [cron, setCron] = useState(job.cron ?? "");
  const [preview, setPreview] = useState<FireTime[] | undefined>(undefined);
  const [previewError, setPreviewError] = useState<unknown>(undefined);
  const [saveError, setSaveError] = useState<unknown>(undefined);
  const [saved, setSaved] = useState("");

  useEffect(() => setCron(job.cron ?? ""), [job.cron]);
  useEffect(() => {
    if (!cron) {
      setPreview(undefined);
      return;
    }
    // a short pause after typing, then the gateway computes the times with the protocol's cron engine
    const t = setTimeout(() => {
      get<{ times: FireTime[] }>(
        "/v1/cron/next" +
          query({
            cron,
            cronDialect: job.cronDialect,
            timeZone: job.timeZone,
            dstRule: job.dstRule,
            count: 10,
          }),
      ).then(
        (r) => {
          setPreview(r.times);
          setPreviewError(undefined);
        },
        (err: unknown) => {
          setPreview(undefined);
          setPreviewError(err);
        },
      );
    }, 250);
    return () => clearTimeout(t);
  }, [cron, job.cronDialect, job.timeZone, job.dstRule]);

  if (!job.cron) {
    return (
      <Card title="Next fires">
        <p>{job.nextRunTime ? `next run ${when(job.nextRunTime)}` : "no fire planned"}</p>
      </Card>
    );
  }
  const save = async (e: Event) => {
    e.preventDefault();
    setSaveError(undefined);
    try {
      await api("PATCH", `/v1/jobs/${encodeURIComponent(job.id)}`, { cron });
      setSaved("cron saved");
      onSaved();
    } catch (err) {
      setSaveError(err);
    }
  };
  return (
    <Card title="Next 10 fires">
      {canEdit && (
        <form class="cron-edit" onSubmit={(e) => void save(e)}>
          <label>
            Cron ({job.cronDialect}, {job.timeZone})
            <input class="mono" value={cron} onInput={(e) => setCron(e.currentTarget.value)} />
          </label>
          <button type="submit" disabled={cron === job.cron || previewError !== undefined}>
            Save cron
          </button>
          {saved && (
            <span class="muted" role="status">
              {saved}
            </span>
          )}
        </form>
      )}
      <ErrorLine error={previewError ?? saveError} />
      <ol class="fires" aria-label="next fire times">
        {(preview ?? []).map((f) => (
          <li key={f.at}>
            <span class="mono">{fmtInZone(f.at, job.timeZone)}</span> <span class="muted">UTC{f.offset}</span>
            {f.dstShift && (
              <span class="dst" title="the zone's UTC offset changes before this fire">
                DST shift {f.dstShift.fromOffset} → {f.dstShift.toOffset}
              </span>
            )}
          </li>
        ))}
      </ol>
    </Card>
  );
}

function LiveEvents({ jobId, onEvent }: { jobId: string; onEvent: () => void }) {
  const [events, setEvents] = useState<JobEvent[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const [live, setLive] = useState(false);
  useEffect(() => {
    const s = streamEvents(
      { jobId },
      {
        onOpen: () => setLive(true),
        onEvent: (e) => {
          setEvents((prev) => [e, ...prev].slice(0, MAX_LIVE_EVENTS));
          if (e.phase === "after") onEvent();
        },
        onError: (err) => {
          setLive(false);
          setError(err);
        },
      },
    );
    return () => s.close();
    // the reload callback changes every render; the stream follows the job only
  }, [jobId]);
  return (
    <Card title="Live events">
      <p class="muted" data-testid="live-state">
        {live ? "listening" : "connecting…"}
      </p>
      <ErrorLine error={error} />
      <ul class="events" aria-label="live events of this job" aria-live="polite">
        {events.map((e) => (
          <li key={e.id} data-phase={e.phase}>
            <span class="mono">{new Date(e.time).toLocaleTimeString(undefined, { hour12: false })}</span>{" "}
            <Badge value={e.phase} /> attempt {e.data.attempt}
            {e.data.durationMs !== undefined ? ` · ${e.data.durationMs} ms` : ""}
            {e.data.error ? <span class="error-text"> · {e.data.error}</span> : null}
          </li>
        ))}
      </ul>
    </Card>
  );
}

/**
 * Newest first; a `started` entry is shown only while its attempt has no outcome yet (a run in progress,
 * or one that died: the log keeps both lines, the page shows the one that says most).
 */
function runLogRows(entries: LogsResult["entries"]): LogsResult["entries"] {
  const finished = new Set(
    entries.filter((e) => e.outcome !== "started").map((e) => `${e.fireId}/${e.attempt}`),
  );
  return entries
    .filter((e) => e.outcome !== "started" || !finished.has(`${e.fireId}/${e.attempt}`))
    .reverse();
}

/** The definition fields of a job view (the state has its own card). */
function definitionOf(j: JobView): Record<string, unknown> {
  const state = new Set([
    "status",
    "triggerCount",
    "tryCount",
    "isAbandoned",
    "createdAt",
    "updatedAt",
    "lastRunTime",
    "nextRunTime",
    "lastFireTime",
    "retryAt",
    "result",
    "lastError",
    "skippedCount",
    "running",
    "buffered",
    "doneRuns",
    "trace",
    "revision",
  ]);
  return Object.fromEntries(Object.entries(j).filter(([k]) => !state.has(k)));
}

function fmtInZone(ms: number, zone: string): string {
  try {
    return new Date(ms).toLocaleString("sv-SE", { timeZone: zone, hour12: false });
  } catch {
    return new Date(ms).toISOString();
  }
}
