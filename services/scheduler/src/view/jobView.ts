/**
 * The API's view of a job (the seed's flat JobInfo): definition + state + store revision. For recurring jobs
 * fired through the cursor alone the stored nextRunTime lags (no write per fire), so the view shows the
 * next due time this replica's heap knows when that is later. Only when the heap holds this very revision:
 * right after a write (an update of the cron, say) the heap may still hold the job before it, whose due
 * time belongs to the old schedule.
 */
import { ACTIVE_STATUSES, type JobRecord, type JobView } from "@taskjet/protocol";
import type { JobEntry } from "./jobEntry.js";

export function toJobView(record: JobRecord, revision: number, entry?: JobEntry): JobView {
  const view = { ...record.def, ...record.state, revision } as JobView;
  const active = ACTIVE_STATUSES.has(record.state.status);
  const current = entry !== undefined && entry.revision === revision;
  if (current && active && entry.active && !entry.dueIsRetry && Number.isFinite(entry.due)) {
    const stored = view.nextRunTime === undefined ? Number.NEGATIVE_INFINITY : Date.parse(view.nextRunTime);
    if (entry.due > stored) view.nextRunTime = new Date(entry.due).toISOString();
  }
  return view;
}
