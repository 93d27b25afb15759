/** Shapes of the gateway's replies (types only: nothing of @taskjet/protocol ends up in the bundle). */
import type {
  ConsumerLag,
  JobEvent,
  JobView,
  ListResult,
  LogsResult,
  RunLogEntry,
  SchedulerStatus,
  DeadLetter,
  DeadLetterView,
  FireTime,
  JobEventData,
  OverviewSample,
} from "@taskjet/protocol";

export type {
  ConsumerLag,
  DeadLetter,
  DeadLetterView,
  FireTime,
  JobEvent,
  JobEventData,
  JobView,
  ListResult,
  LogsResult,
  OverviewSample,
  RunLogEntry,
  SchedulerStatus,
};

export type Role = "full" | "read";

export interface Session {
  role: Role;
  tenant: string;
}

/** GET /v1/dashboard/overview */
export interface Overview {
  status: SchedulerStatus;
  consumers: ConsumerLag[];
  deadLetters: number;
  sampleSeconds: number;
  samples: OverviewSample[];
}
