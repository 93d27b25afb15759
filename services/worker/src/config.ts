/**
 * The worker service's configuration from its command line and environment, validated once with
 * @taskjet/protocol's readSettings (the helper every service and the CLI use): a flag wins over its variable.
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
 *                          TASKJET_MAX_JOB_BYTES  largest fast-lane job run (default 65536)
 *                          TASKJET_RETENTION  the scheduler's retention JSON, for finished fast-lane jobs
 *   NATS_URL, NATS_CREDS, NATS_NKEY_SEED(_FILE), NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_TLS_*, TASKJET_PREFIX,
 *   TASKJET_NATS_INBOX_PREFIX (natsConfigFromEnv)
 *   TASKJET_LOG_LEVEL (default info)
 */
import { parseArgs } from "node:util";
import {
  envText,
  parseRetentionConfig,
  parseSubjectPatterns,
  readSettings,
  ValidationError,
  withoutUndefined,
  type Setting,
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
TASKJET_MAX_JOB_BYTES, TASKJET_ACTION_SUBJECT_ALLOW, TASKJET_RETENTION, TASKJET_LOG_LEVEL.
The http job and webhooks refuse loopback, link-local and private addresses unless TASKJET_HTTP_ALLOW names them.
SIGTERM/SIGINT stop gracefully.`;

export type ServiceConfig = Omit<WorkerServiceOptions, "logger"> & { help: boolean };

/** The worker's settings (readSettings: a flag wins over its variable; a bad value names where it came from). */
const SETTINGS = {
  node: { flag: "node", env: "TASKJET_NODE", schema: envText.string() },
  concurrency: { flag: "concurrency", env: "TASKJET_CONCURRENCY", schema: envText.int() },
  prefetch: { flag: "prefetch", env: "TASKJET_PREFETCH", schema: envText.int() },
  workerId: { flag: "worker-id", env: "TASKJET_WORKER_ID", schema: envText.string() },
  ackWaitMs: { env: "TASKJET_ACK_WAIT_MS", schema: envText.int() },
  shutdownGraceMs: { env: "TASKJET_SHUTDOWN_GRACE_MS", schema: envText.int() },
  idlePollMs: { env: "TASKJET_IDLE_POLL_MS", schema: envText.int() },
  coalesceStateMs: { env: "TASKJET_COALESCE_STATE_MS", schema: envText.int() },
  maxEarlyMs: { env: "TASKJET_MAX_EARLY_MS", schema: envText.int() },
  jobCacheSize: { env: "TASKJET_JOB_CACHE_SIZE", schema: envText.int() },
  holdEarlyFires: { env: "TASKJET_HOLD_EARLY_FIRES", schema: envText.bool() },
  events: { env: "TASKJET_EVENTS", schema: envText.bool() },
  runLog: { env: "TASKJET_RUN_LOG", schema: envText.bool() },
  builtins: { env: "TASKJET_BUILTINS", schema: envText.bool() },
  // streams and buckets are created by whichever service starts first: replicas must agree with the scheduler's
  replicas: { env: "TASKJET_STREAM_REPLICAS", schema: envText.int() },
  // 0: the server lets only the scheduler create streams and buckets (deploy/nats/); check they exist instead
  createTopology: { env: "TASKJET_CREATE_TOPOLOGY", schema: envText.bool() },
  httpAllow: { env: "TASKJET_HTTP_ALLOW", schema: envText.string() },
  httpDeny: { env: "TASKJET_HTTP_DENY", schema: envText.string() },
  httpMaxResponseBytes: { env: "TASKJET_HTTP_MAX_RESPONSE_BYTES", schema: envText.int() },
  maxJobBytes: { env: "TASKJET_MAX_JOB_BYTES", schema: envText.int() },
  actionSubjectAllow: { env: "TASKJET_ACTION_SUBJECT_ALLOW", schema: envText.string() },
  handlers: { env: "TASKJET_HANDLERS", schema: envText.list() },
  // the scheduler's retention JSON: a finished fast-lane job is removed or kept by the worker that ran it
  retention: { env: "TASKJET_RETENTION", schema: envText.json() },
} satisfies Record<string, Setting>;

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
  const { handlers, replicas, createTopology, httpAllow, httpDeny, actionSubjectAllow, retention, ...rest } =
    readSettings(SETTINGS, { env, flags: values });
  // modules from TASKJET_HANDLERS and every --handlers flag, in that order (the flag adds, not replaces)
  const handlerModules = [...(handlers ?? []), ...((values["handlers"] as string[] | undefined) ?? [])];
  const topology = withoutUndefined({ replicas, create: createTopology });
  return {
    help: values["help"] === true,
    nats: natsConfigFromEnv(env),
    handlerModules,
    ...rest,
    ...(Object.keys(topology).length > 0 ? { topology } : {}),
    ...(httpAllow ? { httpAllow: parseDestinationEntries(httpAllow, "TASKJET_HTTP_ALLOW") } : {}),
    ...(httpDeny ? { httpDeny: parseDestinationEntries(httpDeny, "TASKJET_HTTP_DENY") } : {}),
    ...(actionSubjectAllow
      ? { actionSubjectAllow: parseSubjectPatterns(actionSubjectAllow, "TASKJET_ACTION_SUBJECT_ALLOW") }
      : {}),
    ...(retention !== undefined ? { retention: parseRetentionConfig(retention, "TASKJET_RETENTION") } : {}),
  };
}
