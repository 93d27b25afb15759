/**
 * Worker options: what a caller passes (WorkerOptions) and what the worker runs with (ResolvedWorkerOptions),
 * checked once in the constructor. Durations carry their unit in the name.
 */
import { hostname } from "node:os";
import type { NatsConnection } from "@nats-io/nats-core";
import { nuid } from "@nats-io/nats-core";
import { pino, type Logger } from "pino";
import { z } from "zod";
import {
  ALL_NODES,
  ANY_NODE,
  HELD_TOKEN,
  DEFAULT_MAX_JOB_BYTES,
  parseOrThrow,
  parseRetentionConfig,
  parseSubjectPatterns,
  type RetentionConfig,
  type RetentionConfigInput,
  token,
  ValidationError,
} from "@taskjet/protocol";
import { logLevelFromEnv, type NatsConfigInput, type TopologyOptions } from "@taskjet/nats";
import { parseDestinationEntries } from "./outcome/destinationPolicy.js";

export interface WorkerOptions {
  /** The node this worker serves (the seed's NodeName): it takes fires addressed to it and to any node. */
  node?: string;
  /** Unique id in the registry and in run logs; default `<node>-<host>-<pid>-<random>`. */
  workerId?: string;
  /** An open connection to use (not closed by stop()). Otherwise the worker connects with `nats`. */
  nc?: NatsConnection;
  /** Connection settings when `nc` is not given (closed by stop()). */
  nats?: NatsConfigInput;
  /** Subject prefix; default the `nats.prefix`, else `taskjet`. */
  prefix?: string;
  /** Stream and bucket settings passed to ensureTopology. */
  topology?: TopologyOptions;
  /** Runs at the same time (default 10). */
  concurrency?: number;
  /**
   * Fires pulled ahead of free slots, so the next ones are at hand when a run ends (default = concurrency).
   * Taken highest priority first; one held longer than workingIntervalMs is handed back. 0 = pull only
   * for free slots (strictest priority order, lower throughput).
   */
  prefetch?: number;
  /** The consumers' ack wait: a run whose worker stops acking is redelivered after this (default 30 s). */
  ackWaitMs?: number;
  /** In-progress ack interval while a run is alive (default ackWaitMs / 3). */
  workingIntervalMs?: number;
  /** stop(): how long in-flight runs may finish before they are aborted and handed back (default 10 s). */
  shutdownGraceMs?: number;
  /**
   * Expiry of the long-poll pull requests an idle worker keeps open (default 2 s). stop() waits up to this
   * long for them to end; shorter costs more idle requests (10 per interval and job type).
   */
  idlePollMs?: number;
  /** Redelivery delay of a fire whose job lock is held by another run (default 1 s). */
  lockRetryMs?: number;
  /** Consumers' max_ack_pending, shared by every worker of a consumer (default 20 000). */
  maxAckPending?: number;
  /** Registry heartbeat interval (default 5 s; the registry TTL is 15 s). */
  heartbeatMs?: number;
  /** Publish before/after/progress events (default true; turn off for benchmarks). */
  events?: boolean;
  /** Append run-log entries (default true; turn off for benchmarks). */
  runLog?: boolean;
  /** Timeout of one job action, e.g. a webhook POST (default 10 s). */
  actionTimeoutMs?: number;
  /** Timeout of one store read/write or run-log append; a timed-out one is retried (default 2 s). */
  requestTimeoutMs?: number;
  /** How long a finished run retries its final store write through a NATS outage before handing back (60 s). */
  finalizeTimeoutMs?: number;
  /**
   * A fire that arrives before its nominal time (the scheduler's leadMs) is prepared at once and its handler
   * started at the nominal time, not earlier (default true). Off: early fires run on arrival.
   */
  holdEarlyFires?: boolean;
  /** The longest an early fire is held, whatever its nominal time says (clock skew guard; default 5 s). */
  maxEarlyMs?: number;
  /**
   * Successful runs of unlimited recurring jobs (no maxCount, overlap allow, no lock) are acked at once and
   * their state written at most this often, several runs per write (default 5 s; 0 = a write per run).
   * See stateCoalescer.ts for what that trades.
   */
  coalesceStateMs?: number;
  /**
   * Recurring jobs the worker keeps a copy of, so their later fires run without reading the job first
   * (default 10,000; 0 = read before every run). See jobCache.ts for what keeps the copies right.
   */
  jobCacheSize?: number;
  /**
   * Destinations the `http` job and `webhook` actions may reach although they are loopback, link-local or
   * private (refused by default): host names, `*.domain`, addresses, CIDR ranges, `*` (destinationPolicy.ts).
   */
  httpAllow?: readonly string[];
  /** Destinations refused although public (same forms); the most specific entry of the two lists wins. */
  httpDeny?: readonly string[];
  /** Largest response body the `http` job stores (default 64 KiB; more fails the run) or a webhook reads. */
  httpMaxResponseBytes?: number;
  /**
   * Subject patterns a `publish` action may target besides its tenant's event namespace `<p>.evt.<tenant>.>`
   * (checked again before each publish; reserved and internal subjects stay refused).
   */
  actionSubjectAllow?: readonly string[];
  /**
   * Retention of finished fast-lane jobs (protocol retention.ts; the scheduler's TASKJET_RETENTION): give the
   * workers the scheduler's setting. A fast-lane job has no scheduler to resolve it at acceptance, so the
   * worker does when the job finishes: `true` for its type or tenant means nothing is written at all. Unset:
   * only the job's own removeOnComplete / removeOnFail count, and the scheduler's retention sweep applies
   * its setting to the finished record later.
   */
  retention?: RetentionConfigInput;
  /**
   * Largest fast-lane job message run here (default 64 KiB, the scheduler's and the SDK's maxJobBytes): a
   * larger one is dead-lettered as poison, field `maxJobBytes`. Producers check it before they publish; this
   * catches a raw NATS client that did not.
   */
  maxJobBytes?: number;
  /** Retry backoff of once jobs: min(baseMs * 2^(n-1), maxMs) * (0.5 + random) (defaults 1 s, 1 h). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  logger?: Logger;
}

const positiveMs = (what: string) =>
  z
    .number({ error: `${what} must be a number of milliseconds` })
    .int()
    .positive(`${what} must be > 0`);

const node = token("node").refine((n) => n !== ANY_NODE && n !== ALL_NODES && n !== HELD_TOKEN, {
  message: `node must not be "${ANY_NODE}", "${ALL_NODES}" or "${HELD_TOKEN}" (reserved subject tokens)`,
});

const OptionsSchema = z.object({
  node: node.optional(),
  workerId: token("workerId", 128).optional(),
  prefix: z.string().optional(),
  concurrency: z.number().int().min(1).max(10_000).default(10),
  prefetch: z.number().int().min(0).max(10_000).optional(),
  ackWaitMs: positiveMs("ackWaitMs").min(1000, "ackWaitMs must be at least 1000").default(30_000),
  workingIntervalMs: positiveMs("workingIntervalMs").optional(),
  shutdownGraceMs: z.number().int().nonnegative().default(10_000),
  idlePollMs: positiveMs("idlePollMs").min(500, "idlePollMs must be at least 500").default(2_000),
  lockRetryMs: positiveMs("lockRetryMs").default(1_000),
  maxAckPending: z.number().int().min(1).default(20_000),
  heartbeatMs: positiveMs("heartbeatMs").default(5_000),
  events: z.boolean().default(true),
  runLog: z.boolean().default(true),
  actionTimeoutMs: positiveMs("actionTimeoutMs").default(10_000),
  finalizeTimeoutMs: positiveMs("finalizeTimeoutMs").default(60_000),
  requestTimeoutMs: positiveMs("requestTimeoutMs").default(2_000),
  holdEarlyFires: z.boolean().default(true),
  maxEarlyMs: z.number().int().nonnegative().default(5_000),
  coalesceStateMs: z.number().int().nonnegative().default(5_000),
  jobCacheSize: z.number().int().nonnegative().default(10_000),
  backoffBaseMs: positiveMs("backoffBaseMs").default(1_000),
  backoffMaxMs: positiveMs("backoffMaxMs").default(3_600_000),
  maxJobBytes: z
    .number()
    .int()
    .min(1024, "maxJobBytes must be at least 1024")
    .max(64 * 1024 * 1024, "maxJobBytes must be at most 64 MiB")
    .default(DEFAULT_MAX_JOB_BYTES),
  httpMaxResponseBytes: z
    .number()
    .int()
    .min(1, "httpMaxResponseBytes must be at least 1")
    .max(1 << 30, "httpMaxResponseBytes must be at most 1 GiB")
    .default(64 * 1024),
});

export type ResolvedWorkerOptions = Omit<
  z.output<typeof OptionsSchema>,
  "workerId" | "node" | "prefix" | "prefetch"
> & {
  node: string;
  prefetch: number;
  workerId: string;
  workingIntervalMs: number;
  nc: NatsConnection | undefined;
  nats: NatsConfigInput | undefined;
  prefix: string | undefined;
  topology: TopologyOptions;
  logger: Logger;
  httpAllow: string[];
  httpDeny: string[];
  actionSubjectAllow: string[];
  /** undefined: not given (see WorkerOptions.retention) */
  retention: RetentionConfig | undefined;
};

/** A host name as a subject token. */
export function hostToken(): string {
  return (
    hostname()
      .replace(/[^A-Za-z0-9_-]/g, "_")
      .slice(0, 40) || "host"
  );
}

export function resolveOptions(opts: WorkerOptions): ResolvedWorkerOptions {
  const { nc, nats, topology, logger, httpAllow, httpDeny, actionSubjectAllow, retention, ...rest } = opts;
  const o = parseOrThrow(OptionsSchema, rest);
  if (nc && nats) {
    throw new ValidationError("give either nc (an open connection) or nats (settings to connect), not both", {
      field: "nats",
    });
  }
  const nodeName = o.node ?? hostToken();
  const workingIntervalMs = o.workingIntervalMs ?? Math.max(250, Math.floor(o.ackWaitMs / 3));
  if (workingIntervalMs >= o.ackWaitMs) {
    throw new ValidationError(
      "workingIntervalMs must be below ackWaitMs, or runs are redelivered while alive",
      {
        field: "workingIntervalMs",
      },
    );
  }
  return {
    ...o,
    node: nodeName,
    prefetch: o.prefetch ?? o.concurrency,
    workerId: o.workerId ?? `${nodeName}-${hostToken()}-${process.pid}-${nuid.next().slice(-6)}`,
    workingIntervalMs,
    nc,
    nats,
    prefix: o.prefix,
    topology: topology ?? {},
    httpAllow: parseDestinationEntries(httpAllow, "httpAllow"),
    httpDeny: parseDestinationEntries(httpDeny, "httpDeny"),
    actionSubjectAllow: parseSubjectPatterns(actionSubjectAllow, "actionSubjectAllow"),
    retention: retention === undefined ? undefined : parseRetentionConfig(retention, "retention"),
    logger: logger ?? pino({ name: "taskjet-worker", level: logLevelFromEnv() }),
  };
}
