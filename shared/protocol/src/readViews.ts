/**
 * Shapes of the read-only views that do not go through the control API: the run stream's consumer lag (the
 * client's ClusterInfo), the overview's samples and the dead letters read from the `<p>-dlq` stream (the
 * gateway's dashboard routes). The client and gateway build them; the dashboard reads them as types only,
 * so nothing of this package ends up in its bundle.
 */
import type { DeadLetter } from "./events.js";

/** One consumer of the run stream and how far behind it is (shared/client/src/ClusterInfo.ts). */
export interface ConsumerLag {
  stream: string;
  name: string;
  filterSubjects: string[];
  /** messages in the stream not yet delivered to this consumer */
  pending: number;
  /** delivered, not yet acknowledged (runs in progress) */
  ackPending: number;
  redelivered: number;
  /** pull requests waiting (idle workers) */
  waiting: number;
}

/** One sample of the overview charts (services/gateway/src/dashboard/overviewSampler.ts). */
export interface OverviewSample {
  /** end of the interval, ISO 8601 */
  at: string;
  firesPerSecond: number;
  runsPerSecond: number;
  failureRate: number | null;
  latenessP50Ms: number | null;
  latenessP99Ms: number | null;
}

/** One dead letter as the gateway shows it (services/gateway/src/dashboard/deadLetters.ts). */
export interface DeadLetterView {
  /** the letter's sequence in the dead-letter stream: its id for get, requeue and discard */
  seq: number;
  jobId: string;
  /** when the stream stored it */
  storedAt: string;
  letter: DeadLetter | null;
  /** set when the stored message is not a readable dead letter */
  decodeError?: string;
}

export interface DeadLetterPage {
  letters: DeadLetterView[];
  /** the sequence to ask for next (`after`), present when more letters may follow */
  nextAfter?: number;
}
