/** Shapes of the gateway's replies (types only: nothing of @taskjet/protocol ends up in the bundle). */
import type {
  JobView,
  ListResult,
  LogsResult,
  RunLogEntry,
  SchedulerStatus,
  DeadLetter,
  JobEventData,
} from "@taskjet/protocol";

export type { JobView, ListResult, LogsResult, RunLogEntry, SchedulerStatus, DeadLetter, JobEventData };

export type Role = "full" | "read";

export interface Session {
  role: Role;
  tenant: string;
}

export interface ConsumerLag {
  stream: string;
  name: string;
  filterSubjects: string[];
  pending: number;
  ackPending: number;
  redelivered: number;
  waiting: number;
}

export interface OverviewSample {
  at: string;
  firesPerSecond: number;
  runsPerSecond: number;
  failureRate: number | null;
  latenessP50Ms: number | null;
  latenessP99Ms: number | null;
}

export interface Overview {
  status: SchedulerStatus;
  consumers: ConsumerLag[];
  deadLetters: number;
  sampleSeconds: number;
  samples: OverviewSample[];
}

export interface DeadLetterView {
  seq: number;
  jobId: string;
  storedAt: string;
  letter: DeadLetter | null;
  decodeError?: string;
}

export interface FireTime {
  at: number;
  iso: string;
  offset: string;
  dstShift?: { fromOffset: string; toOffset: string };
}

/** One event as the gateway's /v1/events/stream sends it (the client's JobEvent). */
export interface JobEvent {
  id: string;
  type: string;
  time: string;
  phase: string;
  tenant: string;
  group: string;
  jobType: string;
  jobId: string;
  subject: string;
  data: JobEventData;
}
