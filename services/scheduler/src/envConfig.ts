/**
 * Scheduler settings from the environment (main.ts), read with @taskjet/protocol's readSettings (the same
 * helper the worker, gateway and CLI use). NATS settings come from natsConfigFromEnv (NATS_URL, NATS_CREDS,
 * NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_TLS_*, TASKJET_PREFIX); the tunables from TASKJET_<NAME> with
 * the option name in upper snake case, e.g. TASKJET_LEASE_TTL_MS=2000; the log level from TASKJET_LOG_LEVEL
 * (logLevelFromEnv).
 */
import { natsConfigFromEnv } from "@taskjet/nats";
import {
  envText,
  parseRetentionConfig,
  parseSubjectPatterns,
  readSettings,
  type Setting,
} from "@taskjet/protocol";
import { TunablesSchema, type SchedulerOptions } from "./options.js";

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

/** Every environment variable the scheduler reads besides the NATS_* ones, with the option it sets. */
export const ENV_VARS: Record<string, string> = {
  TASKJET_REPLICA_ID: "replicaId",
  TASKJET_STANDBY: "standby",
  TASKJET_STREAM_REPLICAS: "topology.replicas",
  TASKJET_DUPLICATE_WINDOW_MS: "topology.duplicateWindowMs",
  TASKJET_MEMORY_STORAGE: "topology.memory",
  TASKJET_LOG_MAX_AGE_MS: "topology.logMaxAgeMs",
  TASKJET_LOG_MAX_MESSAGES: "topology.logMaxMessages",
  TASKJET_LOG_MAX_BYTES: "topology.logMaxBytes",
  TASKJET_DLQ_MAX_AGE_MS: "topology.dlqMaxAgeMs",
  TASKJET_DLQ_MAX_MESSAGES: "topology.dlqMaxMessages",
  TASKJET_DLQ_MAX_BYTES: "topology.dlqMaxBytes",
  TASKJET_LOG_LEVEL: "pino log level of main.js (default info)",
  TASKJET_ACTION_SUBJECT_ALLOW: "actionSubjectAllow (comma-separated subject patterns)",
  TASKJET_RETENTION: "retention (JSON: removeOnComplete, removeOnFail, types, tenants)",
  TASKJET_JSON_FIRE_NODES: "jsonFires.nodes (comma-separated node names; _any = jobs without a node)",
  TASKJET_JSON_FIRE_TYPES:
    'jsonFires.types (comma-separated job types, or a JSON array for names with commas: ["a, b","c.d"])',
  ...Object.fromEntries(Object.keys(TunablesSchema.shape).map((k) => [`TASKJET_${snake(k)}`, k])),
};

const LIMITS = {
  logMaxAgeMs: "TASKJET_LOG_MAX_AGE_MS",
  logMaxMessages: "TASKJET_LOG_MAX_MESSAGES",
  logMaxBytes: "TASKJET_LOG_MAX_BYTES",
  dlqMaxAgeMs: "TASKJET_DLQ_MAX_AGE_MS",
  dlqMaxMessages: "TASKJET_DLQ_MAX_MESSAGES",
  dlqMaxBytes: "TASKJET_DLQ_MAX_BYTES",
} as const;

const atLeastOne = envText.int(1, Number.MAX_SAFE_INTEGER, "must be a whole number of at least 1");
const bytesLimit = envText
  .int(-1, Number.MAX_SAFE_INTEGER, "must be a whole number of at least 1 (or -1: no limit)")
  .refine((n) => n !== 0, "must be a whole number of at least 1 (or -1: no limit)");

/** The scheduler's settings besides the NATS_* ones (readSettings: a bad value names its variable). */
const SETTINGS = {
  // the tunables: ranges and units are checked by the options schema, naming the option
  ...(Object.fromEntries(
    Object.keys(TunablesSchema.shape).map((k) => [
      k,
      { env: `TASKJET_${snake(k)}`, schema: envText.number() },
    ]),
  ) as Record<keyof typeof TunablesSchema.shape, Setting<ReturnType<typeof envText.number>>>),
  replicaId: { env: "TASKJET_REPLICA_ID", schema: envText.string() },
  standby: { env: "TASKJET_STANDBY", schema: envText.bool() },
  replicas: { env: "TASKJET_STREAM_REPLICAS", schema: envText.number() },
  duplicateWindowMs: { env: "TASKJET_DUPLICATE_WINDOW_MS", schema: envText.number() },
  memory: { env: "TASKJET_MEMORY_STORAGE", schema: envText.bool() },
  ...(Object.fromEntries(
    Object.entries(LIMITS).map(([k, env]) => [
      k,
      { env, schema: k.endsWith("Bytes") ? bytesLimit : atLeastOne },
    ]),
  ) as Record<keyof typeof LIMITS, Setting<typeof atLeastOne>>),
  actionSubjectAllow: { env: "TASKJET_ACTION_SUBJECT_ALLOW", schema: envText.string() },
  jsonFireNodes: { env: "TASKJET_JSON_FIRE_NODES", schema: envText.list() },
  // type names may hold commas (issue 19): a JSON array form besides the comma-separated one
  jsonFireTypes: { env: "TASKJET_JSON_FIRE_TYPES", schema: envText.nameList() },
  retention: { env: "TASKJET_RETENTION", schema: envText.json() },
} satisfies Record<string, Setting>;

/** Builds SchedulerOptions from the environment; throws ValidationError naming the variable. */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): SchedulerOptions {
  const natsConfig = natsConfigFromEnv(env);
  const s = readSettings(SETTINGS, { env });
  const opts: SchedulerOptions = { natsConfig, prefix: natsConfig.prefix };
  const record = opts as Record<string, unknown>;
  for (const key of Object.keys(TunablesSchema.shape) as (keyof typeof TunablesSchema.shape)[]) {
    if (s[key] !== undefined) record[key] = s[key];
  }
  if (s.replicaId !== undefined) opts.replicaId = s.replicaId;
  if (s.standby !== undefined) opts.standby = s.standby;
  const topology: NonNullable<SchedulerOptions["topology"]> = {};
  if (s.replicas !== undefined) topology.replicas = s.replicas;
  if (s.duplicateWindowMs !== undefined) topology.duplicateWindowMs = s.duplicateWindowMs;
  if (s.memory !== undefined) topology.memory = s.memory;
  for (const key of Object.keys(LIMITS) as (keyof typeof LIMITS)[]) {
    if (s[key] !== undefined) topology[key] = s[key];
  }
  opts.topology = topology;
  if (s.actionSubjectAllow !== undefined) {
    opts.actionSubjectAllow = parseSubjectPatterns(s.actionSubjectAllow, "TASKJET_ACTION_SUBJECT_ALLOW");
  }
  const jsonNodes = s.jsonFireNodes ?? [];
  const jsonTypes = s.jsonFireTypes ?? [];
  if (jsonNodes.length > 0 || jsonTypes.length > 0) opts.jsonFires = { nodes: jsonNodes, types: jsonTypes };
  if (s.retention !== undefined) opts.retention = parseRetentionConfig(s.retention, "TASKJET_RETENTION");
  return opts;
}
