/**
 * Jobs: the list API's pages (limit/offset; the gateway's `total` says how many match), filters that the
 * scheduler applies (status, group, type, node, job type), search by id (exact) and by name (substring),
 * and bulk actions on the selected jobs.
 */
import { useState } from "preact/hooks";
import { api, ApiError, get, query } from "../api";
import { useLoad } from "../hooks";
import { jobHref } from "../router";
import { useCanAct } from "../session";
import type { JobView, ListResult } from "../types";
import { Badge, ErrorLine, Pager, TableHead, TableWrap, when } from "../components/ui";

export const PAGE_SIZE = 50;
const STATUSES = ["none", "queuing", "running", "failedRetry", "paused", "stopped", "completed"];
const JOB_TYPES = ["once", "period", "persistent"];
const FILTERS = ["status", "group", "type", "node", "jobType", "q"] as const;
const BULK_OPS = ["trigger", "pause", "resume", "stop", "start", "delete"] as const;

interface JobsPage {
  jobs: JobView[];
  total: number;
  exact?: JobView;
}

export function Jobs({ params }: { params: URLSearchParams }) {
  const canAct = useCanAct();
  const f = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) ?? ""])) as Record<
    (typeof FILTERS)[number],
    string
  >;
  const offset = Math.max(0, Number(params.get("offset") ?? 0) || 0);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [bulkNote, setBulkNote] = useState<string>("");
  const [bulkError, setBulkError] = useState<unknown>(undefined);
  const key = params.toString();

  const { data, error, loading, reload } = useLoad(async (): Promise<JobsPage> => {
    const list = get<ListResult>(
      "/v1/jobs" +
        query({
          status: f.status,
          group: f.group,
          type: f.type,
          node: f.node,
          jobType: f.jobType,
          name: f.q,
          limit: PAGE_SIZE,
          offset,
        }),
    );
    const exact =
      f.q && /^[A-Za-z0-9_-]{1,128}$/.test(f.q)
        ? get<{ job: JobView }>(`/v1/jobs/${encodeURIComponent(f.q)}`).then(
            (r) => r.job,
            (err: unknown) => {
              if (err instanceof ApiError && err.status === 404) return undefined;
              throw err;
            },
          )
        : Promise.resolve(undefined);
    const [l, e] = await Promise.all([list, exact]);
    return { jobs: l.jobs, total: l.total, ...(e && matchesFilters(e, f) ? { exact: e } : {}) };
  }, [key]);

  const rows = data ? withExact(data) : [];
  const navigate = (next: Record<string, string | number | undefined>) => {
    const p = new URLSearchParams();
    for (const k of FILTERS) if (f[k]) p.set(k, f[k]);
    for (const [k, v] of Object.entries(next)) {
      if (v === undefined || v === "" || v === 0) p.delete(k);
      else p.set(k, String(v));
    }
    setSelected(new Set());
    window.location.hash = `#/jobs${p.toString() ? `?${p.toString()}` : ""}`;
  };
  const onFilter = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const next: Record<string, string | undefined> = { offset: undefined };
    for (const k of FILTERS) next[k] = String(form.get(k) ?? "").trim();
    navigate(next);
  };
  const bulk = async (op: (typeof BULK_OPS)[number]) => {
    if (op === "delete" && !window.confirm(`Delete ${selected.size} job(s)?`)) return;
    setBulkError(undefined);
    try {
      const r = await api<{ results: { id: string; ok: boolean; error?: { message: string } }[] }>(
        "POST",
        `/v1/bulk/${op}`,
        op === "delete" ? { ids: [...selected], force: true } : { ids: [...selected] },
      );
      const failed = r.results.filter((x) => !x.ok);
      setBulkNote(
        `${op}: ${r.results.length - failed.length} done` +
          (failed.length ? `, ${failed.length} refused (${failed[0]?.error?.message ?? ""})` : ""),
      );
      setSelected(new Set());
      await reload();
    } catch (err) {
      setBulkError(err);
    }
  };
  const toggle = (id: string) => {
    const s = new Set(selected);
    if (s.has(id)) s.delete(id);
    else s.add(id);
    setSelected(s);
  };
  const allOnPage = rows.length > 0 && rows.every((j) => selected.has(j.id));

  return (
    <>
      <h1>Jobs</h1>
      {/* keyed by the route: Clear and links reset the inputs to what the URL says */}
      <form key={key} class="filters" onSubmit={onFilter} aria-label="job filters">
        <label>
          Search id or name
          <input name="q" type="search" defaultValue={f.q} placeholder="id or part of a name" />
        </label>
        <AnyOf label="Status" name="status" options={STATUSES} value={f.status} />
        <label>
          Group
          <input name="group" defaultValue={f.group} />
        </label>
        <label>
          Type
          <input name="type" defaultValue={f.type} />
        </label>
        <label>
          Node
          <input name="node" defaultValue={f.node} />
        </label>
        <AnyOf label="Job type" name="jobType" options={JOB_TYPES} value={f.jobType} />
        <div class="filter-buttons">
          <button type="submit">Apply</button>
          <button
            type="button"
            class="secondary"
            onClick={() => navigate({ ...clearAll(), offset: undefined })}
          >
            Clear
          </button>
        </div>
      </form>
      <ErrorLine error={error} />

      {canAct && (
        <div class="bulk" role="toolbar" aria-label="bulk actions on the selected jobs">
          <span>{selected.size} selected</span>
          {BULK_OPS.map((op) => (
            <button
              key={op}
              type="button"
              class={op === "delete" ? "danger" : "secondary"}
              disabled={selected.size === 0}
              onClick={() => void bulk(op)}
            >
              {op}
            </button>
          ))}
          {bulkNote && (
            <span class="muted" role="status">
              {bulkNote}
            </span>
          )}
          <ErrorLine error={bulkError} />
        </div>
      )}

      <p class="muted" role="status" data-testid="jobs-count">
        {data
          ? data.total === 0
            ? "no jobs match"
            : `${offset + 1}–${Math.min(offset + PAGE_SIZE, data.total)} of ${data.total} jobs`
          : loading
            ? "loading…"
            : ""}
      </p>
      <TableWrap label="jobs">
        <TableHead
          columns={[
            ...(canAct
              ? [
                  <input
                    type="checkbox"
                    aria-label="select every job on this page"
                    checked={allOnPage}
                    onChange={() => setSelected(allOnPage ? new Set() : new Set(rows.map((j) => j.id)))}
                  />,
                ]
              : []),
            "id",
            "name",
            "status",
            "group",
            "type",
            "job type",
            "node",
            "next run",
            "last run",
          ]}
        />
        <tbody>
          {rows.map((j) => (
            <tr key={j.id} data-job-id={j.id}>
              {canAct && (
                <td>
                  <input
                    type="checkbox"
                    aria-label={`select ${j.id}`}
                    checked={selected.has(j.id)}
                    onChange={() => toggle(j.id)}
                  />
                </td>
              )}
              <td class="mono">
                <a href={jobHref(j.id)}>{j.id}</a>
              </td>
              <td>{j.name}</td>
              <td>
                <Badge value={j.status} />
              </td>
              <td>{j.group}</td>
              <td>{j.type}</td>
              <td>{j.jobType}</td>
              <td>{j.nodeName ?? "any"}</td>
              <td>{when(j.nextRunTime)}</td>
              <td>{when(j.lastRunTime)}</td>
            </tr>
          ))}
        </tbody>
      </TableWrap>
      <Pager
        label="pages of jobs"
        hasPrevious={offset !== 0}
        hasNext={!!data && offset + PAGE_SIZE < data.total}
        onPrevious={() => navigate({ offset: Math.max(0, offset - PAGE_SIZE) })}
        onNext={() => navigate({ offset: offset + PAGE_SIZE })}
      />
    </>
  );
}

/** A filter's select: `any` (no filter) or one of the options. */
function AnyOf(props: {
  label: string;
  name: string;
  options: readonly string[];
  value: string | undefined;
}) {
  return (
    <label>
      {props.label}
      <select name={props.name} defaultValue={props.value}>
        <option value="">any</option>
        {props.options.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
    </label>
  );
}

function clearAll(): Record<string, undefined> {
  return Object.fromEntries(FILTERS.map((k) => [k, undefined]));
}

/** The exact id match first (when the name search did not find it already). */
function withExact(p: JobsPage): JobView[] {
  if (!p.exact || p.jobs.some((j) => j.id === p.exact?.id)) return p.jobs;
  return [p.exact, ...p.jobs];
}

function matchesFilters(j: JobView, f: Record<string, string>): boolean {
  return (
    (!f["status"] || j.status === f["status"]) &&
    (!f["group"] || j.group === f["group"]) &&
    (!f["type"] || j.type === f["type"]) &&
    (!f["node"] || j.nodeName === f["node"]) &&
    (!f["jobType"] || j.jobType === f["jobType"])
  );
}
