/**
 * The worker service's configuration from its command line and environment, validated once.
 *
 *   --node <name>          TASKJET_NODE          node served (default: the host name)
 *   --handlers <module>    TASKJET_HANDLERS      handler modules (flag repeatable; env comma-separated)
 *   --concurrency <n>      TASKJET_CONCURRENCY   runs at once (default 10)
 *   --prefetch <n>         TASKJET_PREFETCH      fires pulled ahead (default = concurrency)
 *   --worker-id <id>       TASKJET_WORKER_ID
 *                          TASKJET_ACK_WAIT_MS, TASKJET_SHUTDOWN_GRACE_MS, TASKJET_IDLE_POLL_MS,
 *                          TASKJET_COALESCE_STATE_MS, TASKJET_MAX_EARLY_MS, TASKJET_JOB_CACHE_SIZE, TASKJET_HOLD_EARLY_FIRES=0,
 *                          TASKJET_EVENTS=0, TASKJET_RUN_LOG=0, TASKJET_BUILTINS=0
 *                          TASKJET_CREATE_TOPOLOGY=0  only open streams and buckets a scheduler created
 *                          TASKJET_HTTP_ALLOW, TASKJET_HTTP_DENY (comma-separated hosts, addresses, CIDRs),
 *                          TASKJET_HTTP_MAX_RESPONSE_BYTES, TASKJET_ACTION_SUBJECT_ALLOW (subject patterns)
 *                          TASKJET_RETENTION  the scheduler's retention JSON, for finished fast-lane jobs
 *   NATS_URL, NATS_CREDS, NATS_NKEY_SEED(_FILE), NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_TLS_*, TASKJET_PREFIX,
 *   TASKJET_NATS_INBOX_PREFIX (natsConfigFromEnv)
 *   TASKJET_LOG_LEVEL or LOG_LEVEL (default info)
 */
import { parseArgs } from "node:util";
import {
  parseRetentionConfig,
  parseSubjectPatterns,
  ValidationError,
  type RetentionConfig,
} from "@taskjet/protocol";
import { natsConfigFromEnv } from "@taskjet/nats";
import { parseDestinationEntries } from "@taskjet/worker-runtime";
import type { WorkerServiceOptions } from "./WorkerService.js";

export const usage = `usage: taskjet-worker [--node <name>] [--handlers <module>]... [--concurrency <n>]
                      [--prefetch <n>] [--worker-id <id>]

Runs a taskjet worker with the built-in job types (http, sleep, console) and the handlers of each module.
Environment: NATS_URL (default nats://127.0.0.1:4222), TASKJET_PREFIX, TASKJET_NODE, TASKJET_HANDLERS,
TASKJET_CONCURRENCY, TASKJET_PREFETCH, TASKJET_ACK_WAIT_MS, TASKJET_SHUTDOWN_GRACE_MS, TASKJET_IDLE_POLL_MS,
TASKJET_COALESCE_STATE_MS, TASKJET_MAX_EARLY_MS, TASKJET_JOB_CACHE_SIZE, TASKJET_HOLD_EARLY_FIRES=0, TASKJET_EVENTS=0, TASKJET_RUN_LOG=0, TASKJET_BUILTINS=0,
TASKJET_CREATE_TOPOLOGY=0, TASKJET_NATS_INBOX_PREFIX, TASKJET_HTTP_ALLOW, TASKJET_HTTP_DENY, TASKJET_HTTP_MAX_RESPONSE_BYTES,
TASKJET_ACTION_SUBJECT_ALLOW, TASKJET_RETENTION, TASKJET_LOG_LEVEL (or LOG_LEVEL).
The http job and webhooks refuse loopback, link-local and private addresses unless TASKJET_HTTP_ALLOW names them.
SIGTERM/SIGINT stop gracefully.`;

export type ServiceConfig = Omit<WorkerServiceOptions, "logger"> & { help: boolean };

function int(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n))
    throw new ValidationError(`${name} must be a whole number, got "${value}"`, { field: name });
  return n;
}

function flag(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value === "") return undefined;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new ValidationError(`${name} must be 0 or 1, got "${value}"`, { field: name });
}

export function configFrom(argv: string[], env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        node: { type: "string" },
        handlers: { type: "string", multiple: true },
        concurrency: { type: "string" },
        prefetch: { type: "string" },
        "worker-id": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new ValidationError(`${(err as Error).message}\n${usage}`, { field: "argv" });
  }
  const fromEnv = (env["TASKJET_HANDLERS"] ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const handlerModules = [...fromEnv, ...((values["handlers"] as string[] | undefined) ?? [])];
  const concurrency = int(
    "concurrency",
    (values["concurrency"] as string | undefined) ?? env["TASKJET_CONCURRENCY"],
  );
  const prefetch = int("prefetch", (values["prefetch"] as string | undefined) ?? env["TASKJET_PREFETCH"]);
  const node = (values["node"] as string | undefined) ?? (env["TASKJET_NODE"] || undefined);
  const workerId = (values["worker-id"] as string | undefined) ?? (env["TASKJET_WORKER_ID"] || undefined);
  const ackWaitMs = int("TASKJET_ACK_WAIT_MS", env["TASKJET_ACK_WAIT_MS"]);
  const shutdownGraceMs = int("TASKJET_SHUTDOWN_GRACE_MS", env["TASKJET_SHUTDOWN_GRACE_MS"]);
  const idlePollMs = int("TASKJET_IDLE_POLL_MS", env["TASKJET_IDLE_POLL_MS"]);
  const coalesceStateMs = int("TASKJET_COALESCE_STATE_MS", env["TASKJET_COALESCE_STATE_MS"]);
  const maxEarlyMs = int("TASKJET_MAX_EARLY_MS", env["TASKJET_MAX_EARLY_MS"]);
  const jobCacheSize = int("TASKJET_JOB_CACHE_SIZE", env["TASKJET_JOB_CACHE_SIZE"]);
  const holdEarlyFires = flag("TASKJET_HOLD_EARLY_FIRES", env["TASKJET_HOLD_EARLY_FIRES"]);
  const events = flag("TASKJET_EVENTS", env["TASKJET_EVENTS"]);
  const runLog = flag("TASKJET_RUN_LOG", env["TASKJET_RUN_LOG"]);
  const builtins = flag("TASKJET_BUILTINS", env["TASKJET_BUILTINS"]);
  // streams and buckets are created by whichever service starts first: replicas must agree with the scheduler's
  const replicas = int("TASKJET_STREAM_REPLICAS", env["TASKJET_STREAM_REPLICAS"]);
  // 0: the server lets only the scheduler create streams and buckets (deploy/nats/); check they exist instead
  const createTopology = flag("TASKJET_CREATE_TOPOLOGY", env["TASKJET_CREATE_TOPOLOGY"]);
  const topology = {
    ...(replicas !== undefined ? { replicas } : {}),
    ...(createTopology !== undefined ? { create: createTopology } : {}),
  };
  const list = (name: string) => (env[name]?.trim() ? env[name] : undefined);
  const httpAllow = list("TASKJET_HTTP_ALLOW");
  const httpDeny = list("TASKJET_HTTP_DENY");
  const httpMaxResponseBytes = int("TASKJET_HTTP_MAX_RESPONSE_BYTES", env["TASKJET_HTTP_MAX_RESPONSE_BYTES"]);
  const subjectAllow = list("TASKJET_ACTION_SUBJECT_ALLOW");
  const retention = retentionFrom(env["TASKJET_RETENTION"]);
  return {
    help: values["help"] === true,
    nats: natsConfigFromEnv(env),
    handlerModules,
    ...(node !== undefined ? { node } : {}),
    ...(workerId !== undefined ? { workerId } : {}),
    ...(concurrency !== undefined ? { concurrency } : {}),
    ...(prefetch !== undefined ? { prefetch } : {}),
    ...(ackWaitMs !== undefined ? { ackWaitMs } : {}),
    ...(shutdownGraceMs !== undefined ? { shutdownGraceMs } : {}),
    ...(idlePollMs !== undefined ? { idlePollMs } : {}),
    ...(coalesceStateMs !== undefined ? { coalesceStateMs } : {}),
    ...(maxEarlyMs !== undefined ? { maxEarlyMs } : {}),
    ...(jobCacheSize !== undefined ? { jobCacheSize } : {}),
    ...(holdEarlyFires !== undefined ? { holdEarlyFires } : {}),
    ...(events !== undefined ? { events } : {}),
    ...(runLog !== undefined ? { runLog } : {}),
    ...(builtins !== undefined ? { builtins } : {}),
    ...(Object.keys(topology).length > 0 ? { topology } : {}),
    ...(httpAllow ? { httpAllow: parseDestinationEntries(httpAllow, "TASKJET_HTTP_ALLOW") } : {}),
    ...(httpDeny ? { httpDeny: parseDestinationEntries(httpDeny, "TASKJET_HTTP_DENY") } : {}),
    ...(httpMaxResponseBytes !== undefined ? { httpMaxResponseBytes } : {}),
    ...(subjectAllow
      ? { actionSubjectAllow: parseSubjectPatterns(subjectAllow, "TASKJET_ACTION_SUBJECT_ALLOW") }
      : {}),
    ...(retention ? { retention } : {}),
  };
}

/** TASKJET_RETENTION as the scheduler reads it (JSON; protocol retention.ts), or undefined when unset. */
function retentionFrom(raw: string | undefined): RetentionConfig | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ValidationError(`TASKJET_RETENTION must be JSON: ${(err as Error).message}`, {
      field: "TASKJET_RETENTION",
    });
  }
  return parseRetentionConfig(parsed, "TASKJET_RETENTION");
}
