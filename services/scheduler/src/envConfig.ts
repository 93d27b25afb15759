/**
 * Scheduler settings from the environment (main.ts). NATS settings come from natsConfigFromEnv (NATS_URL,
 * NATS_CREDS, NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_TLS_*, TASKJET_PREFIX); the tunables from
 * TASKJET_<NAME> with the option name in upper snake case, e.g. TASKJET_LEASE_TTL_MS=2000.
 */
import { natsConfigFromEnv } from "@taskjet/nats";
import { parseRetentionConfig, parseSubjectPatterns, ValidationError } from "@taskjet/protocol";
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
  TASKJET_JSON_FIRE_TYPES: "jsonFires.types (comma-separated job types)",
  ...Object.fromEntries(Object.keys(TunablesSchema.shape).map((k) => [`TASKJET_${snake(k)}`, k])),
};

function int(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n))
    throw new ValidationError(`${name} must be a number, got "${raw}"`, { field: name });
  return n;
}

function bool(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return undefined;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ValidationError(`${name} must be true or false, got "${raw}"`, { field: name });
}

/** Builds SchedulerOptions from the environment; throws ValidationError naming the variable. */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): SchedulerOptions {
  const natsConfig = natsConfigFromEnv(env);
  const opts: SchedulerOptions = { natsConfig, prefix: natsConfig.prefix };
  const record = opts as Record<string, unknown>;
  for (const key of Object.keys(TunablesSchema.shape)) {
    const v = int(env, `TASKJET_${snake(key)}`);
    if (v !== undefined) record[key] = v;
  }
  if (env["TASKJET_REPLICA_ID"]) opts.replicaId = env["TASKJET_REPLICA_ID"];
  const standby = bool(env, "TASKJET_STANDBY");
  if (standby !== undefined) opts.standby = standby;
  const topology: NonNullable<SchedulerOptions["topology"]> = {};
  const replicas = int(env, "TASKJET_STREAM_REPLICAS");
  if (replicas !== undefined) topology.replicas = replicas;
  const dup = int(env, "TASKJET_DUPLICATE_WINDOW_MS");
  if (dup !== undefined) topology.duplicateWindowMs = dup;
  const memory = bool(env, "TASKJET_MEMORY_STORAGE");
  if (memory !== undefined) topology.memory = memory;
  const limits = [
    ["TASKJET_LOG_MAX_AGE_MS", "logMaxAgeMs"],
    ["TASKJET_LOG_MAX_MESSAGES", "logMaxMessages"],
    ["TASKJET_LOG_MAX_BYTES", "logMaxBytes"],
    ["TASKJET_DLQ_MAX_AGE_MS", "dlqMaxAgeMs"],
    ["TASKJET_DLQ_MAX_MESSAGES", "dlqMaxMessages"],
    ["TASKJET_DLQ_MAX_BYTES", "dlqMaxBytes"],
  ] as const;
  for (const [name, key] of limits) {
    const v = int(env, name);
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < (key.endsWith("Bytes") ? -1 : 1) || v === 0)
      throw new ValidationError(
        `${name} must be a whole number of at least 1${key.endsWith("Bytes") ? " (or -1: no limit)" : ""}, got "${env[name]}"`,
        { field: name },
      );
    topology[key] = v;
  }
  opts.topology = topology;
  const allow = env["TASKJET_ACTION_SUBJECT_ALLOW"];
  if (allow !== undefined && allow.trim() !== "") {
    opts.actionSubjectAllow = parseSubjectPatterns(allow, "TASKJET_ACTION_SUBJECT_ALLOW");
  }
  const list = (name: string) =>
    (env[name] ?? "")
      .split(",")
      .map((x) => x.trim())
      .filter((x) => x !== "");
  const jsonNodes = list("TASKJET_JSON_FIRE_NODES");
  const jsonTypes = list("TASKJET_JSON_FIRE_TYPES");
  if (jsonNodes.length > 0 || jsonTypes.length > 0) opts.jsonFires = { nodes: jsonNodes, types: jsonTypes };
  const retention = env["TASKJET_RETENTION"];
  if (retention !== undefined && retention.trim() !== "") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(retention);
    } catch (err) {
      throw new ValidationError(`TASKJET_RETENTION must be JSON: ${(err as Error).message}`, {
        field: "TASKJET_RETENTION",
      });
    }
    opts.retention = parseRetentionConfig(parsed, "TASKJET_RETENTION");
  }
  return opts;
}
