/** The live event tail: the tenant's job events as they happen, filtered by job, group, type and phase. */
import { useEffect, useState } from "preact/hooks";
import { streamEvents, type EventFilter } from "../events";
import { jobHref } from "../router";
import type { JobEvent } from "../types";
import { Badge, ErrorLine, TableHead, TableWrap } from "../components/ui";

const PHASES = ["before", "after", "progress", "skipped", "deadletter"];
const MAX_EVENTS = 200;

export function Events() {
  const [filter, setFilter] = useState<EventFilter>({ phases: ["before", "after", "skipped", "deadletter"] });
  const [events, setEvents] = useState<JobEvent[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const [live, setLive] = useState(false);
  const [paused, setPaused] = useState(false);

  useEffect(() => {
    if (paused) return;
    setLive(false);
    setError(undefined);
    const s = streamEvents(filter, {
      onOpen: () => setLive(true),
      onEvent: (e) => setEvents((prev) => [e, ...prev].slice(0, MAX_EVENTS)),
      onError: (err) => {
        setLive(false);
        setError(err);
      },
    });
    return () => s.close();
  }, [filter, paused]);

  const apply = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const text = (k: string) => String(form.get(k) ?? "").trim() || undefined;
    const next: EventFilter = { phases: PHASES.filter((p) => form.get(`phase-${p}`) !== null) };
    const jobId = text("jobId");
    const group = text("group");
    const type = text("type");
    if (jobId) next.jobId = jobId;
    if (group) next.group = group;
    if (type) next.type = type;
    setEvents([]);
    setFilter(next);
  };

  return (
    <>
      <h1>Live events</h1>
      <form class="filters" onSubmit={apply} aria-label="event filters">
        <label>
          Job id
          <input name="jobId" defaultValue={filter.jobId ?? ""} />
        </label>
        <label>
          Group
          <input name="group" defaultValue={filter.group ?? ""} />
        </label>
        <label>
          Type
          <input name="type" defaultValue={filter.type ?? ""} />
        </label>
        <fieldset class="phases">
          <legend>Phases</legend>
          {PHASES.map((p) => (
            <label key={p} class="check">
              <input
                type="checkbox"
                name={`phase-${p}`}
                defaultChecked={filter.phases?.includes(p) ?? true}
              />
              {p}
            </label>
          ))}
        </fieldset>
        <div class="filter-buttons">
          <button type="submit">Apply</button>
          <button type="button" class="secondary" onClick={() => setPaused(!paused)}>
            {paused ? "Resume" : "Pause"}
          </button>
          <button type="button" class="secondary" onClick={() => setEvents([])}>
            Clear
          </button>
        </div>
      </form>
      <p class="muted" role="status" data-testid="live-state">
        {paused ? "paused" : live ? `listening · ${events.length} events` : "connecting…"}
      </p>
      <ErrorLine error={error} />
      <TableWrap label="events">
        <TableHead columns={["time", "phase", "job", "group", "type", "attempt", "detail"]} />
        <tbody>
          {events.map((e) => (
            <tr key={e.id} data-job-id={e.jobId} data-phase={e.phase}>
              <td class="mono">{new Date(e.time).toLocaleTimeString(undefined, { hour12: false })}</td>
              <td>
                <Badge value={e.phase} />
              </td>
              <td class="mono">
                <a href={jobHref(e.jobId)}>{e.jobId}</a>
              </td>
              <td>{e.group}</td>
              <td>{e.jobType}</td>
              <td>{e.data.attempt}</td>
              <td class={e.data.error ? "error-text" : ""}>
                {e.data.error ??
                  e.data.reason ??
                  (e.data.durationMs !== undefined ? `${e.data.durationMs} ms` : e.data.status)}
              </td>
            </tr>
          ))}
        </tbody>
      </TableWrap>
    </>
  );
}
