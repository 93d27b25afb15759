/**
 * What the leader's other roles may read of the firing loop (lead/cursorKeeper.ts derives the cursor from
 * it, lead/reaper.ts sweeps the jobs with runs), implemented by the ticker. Read-only: they change nothing
 * in the heap, and the ticker's sets stay its own.
 */
import type { JobEntry } from "../view/jobEntry.js";

export interface FiringState {
  /** this replica fires as leader */
  readonly isFiring: boolean;
  /** the earliest due time of an entry waiting in the heap or in flight (busy); +Infinity when none */
  earliestDue(): number;
  /** calls `fn` for each entry waiting or in flight whose due time is at or before `throughMs` */
  forEachDue(throughMs: number, fn: (e: JobEntry) => void): void;
  /** paused jobs whose "fired through" write is in flight */
  readonly retiring: ReadonlySet<JobEntry>;
  /** entries with recorded runs */
  readonly withRuns: ReadonlySet<JobEntry>;
}
