/**
 * Scheduler options: what a caller may pass (SchedulerOptions) and what the service runs with
 * (ResolvedSchedulerOptions). Checked once, in the constructor; every duration carries its unit.
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "pino";
import { z } from "zod";
import type { NatsConfigInput, TopologyOptions } from "@taskjet/nats";
import {
  DEFAULT_MAX_JOB_BYTES,
  DEFAULT_MIN_INTERVAL_SECONDS,
  DEFAULT_PREFIX,
  PREFIX_PATTERN,
  parseOrThrow,
  parseRetentionConfig,
  parseSubjectPatterns,
  printableName,
  TOKEN_PATTERN,
  type RetentionConfig,
  type RetentionConfigInput,
} from "@taskjet/protocol";
import { systemClock, type Clock } from "./plan/clock.js";

const ms = (what: string, min = 1) =>
  z
    .number({ error: `${what} must be a number of milliseconds` })
    .int(`${what} must be a whole number of milliseconds`)
    .min(min, `${what} must be at least ${min}`);
const count = (what: string) =>
  z.number().int(`${what} must be a whole number`).min(1, `${what} must be at least 1`);

/** The tunables, with defaults. */
export const TunablesSchema = z.strictObject({
  /** leader lease time = TTL of the lease bucket; a follower takes over about this long after a crash */
  leaseTtlMs: ms("leaseTtlMs", 300).default(2_000),
  /** fires later than this (no leader, takeover, end of a pause) fall under the job's misfirePolicy */
  misfireThresholdMs: ms("misfireThresholdMs", 0).default(60_000),
  /** how often the leader writes the global fire cursor (see fireCursor.ts) */
  cursorIntervalMs: ms("cursorIntervalMs", 50).default(250),
  /** wake this long before a due instant to plan and encode the batch; it is published at the instant */
  wakeEarlyMs: ms("wakeEarlyMs", 0).default(250),
  /**
   * publish scheduled fires this long before their nominal time; workers hold them and start the handler at
   * the nominal time, so a burst of thousands due at one second is delivered before the second (0 = publish
   * at the nominal time)
   */
  leadMs: ms("leadMs", 0).default(750),
  /** longest sleep between looks at the clock (catches wall-clock steps) */
  maxSleepMs: ms("maxSleepMs", 10).default(1_000),
  /** most entries popped per tick; the rest follow at once */
  maxBatchSize: count("maxBatchSize").default(10_000),
  /** most JetStream publishes awaiting their ack at a time */
  maxInFlightPublishes: count("maxInFlightPublishes").default(20_000),
  publishTimeoutMs: ms("publishTimeoutMs", 100).default(5_000),
  /** delay before a fire whose publish failed is tried again */
  publishRetryDelayMs: ms("publishRetryDelayMs", 10).default(250),
  /** most nominal times walked one by one in a misfire gap; bigger gaps are summarised */
  misfireEnumerationLimit: count("misfireEnumerationLimit").default(1_000),
  /** fireAll: most missed fires re-published per job and gap (older ones are recorded as skipped) */
  maxCatchUpFires: count("maxCatchUpFires").default(1_000),
  /** skipped fires recorded one entry each up to this many per gap; more become one summary entry */
  skipDetailLimit: count("skipDetailLimit").default(100),
  /** warn when a worker's clock differs from the leader's by more than this */
  maxClockSkewMs: ms("maxClockSkewMs", 1).default(2_000),
  clockSkewCheckIntervalMs: ms("clockSkewCheckIntervalMs", 100).default(10_000),
  /** replica heartbeat in the registry bucket (its TTL must be longer) */
  replicaHeartbeatMs: ms("replicaHeartbeatMs", 100).default(5_000),
  /** how often the leader removes finished jobs past their retention (removeOnComplete / removeOnFail) */
  retentionSweepMs: ms("retentionSweepMs", 50).default(1_000),
  /**
   * a removed job's delete marker is purged from the job bucket's stream this long after the leader saw it
   * (every replica's view has applied the removal by then)
   */
  markerPurgeDelayMs: ms("markerPurgeDelayMs", 0).default(10_000),
  /** how often every replica reads the cluster state of the run stream, job bucket and lease bucket (replicaWatch.ts) */
  replicaCheckMs: ms("replicaCheckMs", 100).default(10_000),
  /** a stream copy behind its leader this long without catching up is reported stuck (metrics, readiness, log) */
  replicaStuckMs: ms("replicaStuckMs", 100).default(60_000),
  /** how often the leader clears runs of workers that stopped heartbeating */
  reaperIntervalMs: ms("reaperIntervalMs", 100).default(15_000),
  /** on takeover, wait at most this long for the local view to reach the old leader's */
  takeoverCatchUpTimeoutMs: ms("takeoverCatchUpTimeoutMs", 0).default(1_000),
  /** a job type's args schema read from the registry is reused this long at acceptance (argsChecker.ts) */
  argsSchemaCacheMs: ms("argsSchemaCacheMs", 0).default(1_000),
  /** timeout of API requests this replica makes to NATS while answering */
  apiTimeoutMs: ms("apiTimeoutMs", 100).default(5_000),
  /**
   * most bytes a job's definition may take, encoded (args included); keep it well under the server's
   * max_payload, or the store write of a job near the limit fails
   */
  maxJobBytes: z
    .number({ error: "maxJobBytes must be a number of bytes" })
    .int("maxJobBytes must be a whole number of bytes")
    .min(1024, "maxJobBytes must be at least 1024")
    .default(DEFAULT_MAX_JOB_BYTES),
  /** the shortest intervalSeconds a job may have (a lower one is refused at queue and update) */
  minIntervalSeconds: z
    .number({ error: "minIntervalSeconds must be a number of seconds" })
    .positive("minIntervalSeconds must be greater than 0")
    .default(DEFAULT_MIN_INTERVAL_SECONDS),
});
export type Tunables = z.output<typeof TunablesSchema>;

export interface SchedulerOptions extends Partial<Tunables> {
  /** an open connection (the service leaves it open on stop); otherwise one is made from `natsConfig` */
  nats?: NatsConnection;
  /**
   * a second connection for the lease and the fire cursor, so their small, timing-critical requests never
   * queue behind a burst of 10k fires (a late lease renewal steps the leader down). Default: `nats` when
   * that is given, else a second connection made from `natsConfig`.
   */
  controlNats?: NatsConnection;
  /** connection settings when `nats` is not given (see natsConfigFromEnv) */
  natsConfig?: NatsConfigInput;
  /** subject prefix; default the natsConfig prefix, else `taskjet` */
  prefix?: string;
  /** stable id of this replica (letters, digits, _ and -); default `<host>-<pid>-<random>` */
  replicaId?: string;
  /** wall clock for due times (tests pass a ManualClock) */
  clock?: Clock;
  logger?: Logger;
  /** stream/bucket settings used when creating the topology (leaseTtlMs is taken from above) */
  topology?: Omit<TopologyOptions, "leaseTtlMs">;
  /** start without campaigning for leadership (serve the API only); `activate` later */
  standby?: boolean;
  /**
   * subject patterns (NATS wildcards) a job's `publish` action may target besides its tenant's own event
   * namespace `<p>.evt.<tenant>.>`; reserved and internal subjects stay refused (protocol actionSubjects.ts)
   */
  actionSubjectAllow?: readonly string[];
  /**
   * what is kept of finished jobs that do not say (removeOnComplete / removeOnFail by default, by type, by
   * tenant; protocol retention.ts); defaults: completed kept a day, at most 1,000 per tenant and type;
   * failed kept 7 days, at most 5,000
   */
  retention?: RetentionConfigInput;
  /**
   * fires published as JSON (Content-Type application/json) instead of msgpack: those of jobs addressed to
   * one of `nodes` (`_any` for jobs without a node) or of one of `types` (names as written), so a worker in
   * another language needs no msgpack library for them (docs/protocol.md, Fires). Taskjet workers read both.
   */
  jsonFires?: { nodes?: readonly string[]; types?: readonly string[] };
}

export interface ResolvedSchedulerOptions extends Tunables {
  prefix: string;
  replicaId: string;
  clock: Clock;
  topology: TopologyOptions;
  standby: boolean;
  actionSubjectAllow: string[];
  retention: RetentionConfig;
  jsonFires: { nodes: string[]; types: string[] };
}

const JsonFiresSchema = z.strictObject({
  nodes: z.array(z.string().regex(TOKEN_PATTERN, "a node name (letters, digits, _ and -)")).default([]),
  // job type names as written (printable: dots, colons, spaces, commas), checked as a job's `type` is
  types: z.array(printableName("type")).default([]),
});

export function defaultReplicaId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9_-]/g, "-")
      .slice(0, 40) || "host";
  return `${host}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

/** Checks and completes options; throws ValidationError naming the option. */
export function resolveOptions(opts: SchedulerOptions): ResolvedSchedulerOptions {
  const tunableInput = Object.fromEntries(
    Object.keys(TunablesSchema.shape)
      .filter((k) => (opts as Record<string, unknown>)[k] !== undefined)
      .map((k) => [k, (opts as Record<string, unknown>)[k]]),
  );
  const tunables = parseOrThrow(TunablesSchema, tunableInput);
  const prefix = opts.prefix ?? opts.natsConfig?.prefix ?? DEFAULT_PREFIX;
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new Error(`prefix "${prefix}" must be 1-32 letters, digits, "_" or "-"`);
  }
  const replicaId = opts.replicaId ?? defaultReplicaId();
  if (!TOKEN_PATTERN.test(replicaId)) {
    throw new Error(`replicaId "${replicaId}" may contain only letters, digits, "_" and "-"`);
  }
  return {
    ...tunables,
    prefix,
    replicaId,
    clock: opts.clock ?? systemClock,
    topology: { ...opts.topology, leaseTtlMs: tunables.leaseTtlMs },
    standby: opts.standby ?? false,
    actionSubjectAllow: parseSubjectPatterns(opts.actionSubjectAllow, "actionSubjectAllow"),
    retention: parseRetentionConfig(opts.retention),
    jsonFires: parseOrThrow(JsonFiresSchema, opts.jsonFires ?? {}, "jsonFires"),
  };
}
