/**
 * Connection settings, from flags or the environment, validated once with zod.
 *
 *   NATS_URL          comma-separated server URLs (default nats://127.0.0.1:4222)
 *   NATS_CREDS        path to a .creds file (JWT + nkey seed)
 *   NATS_NKEY_SEED_FILE / NATS_NKEY_SEED   an nkey user's seed (`SU...`): a file path, or the seed itself
 *   NATS_USER / NATS_PASSWORD, NATS_TOKEN
 *   NATS_TLS_CA, NATS_TLS_CERT, NATS_TLS_KEY   PEM file paths; any of them turns TLS on
 *   TASKJET_PREFIX    subject prefix (default taskjet)
 *   TASKJET_NATS_INBOX_PREFIX   prefix of every reply inbox of the connection (default `_INBOX`)
 *   NATS_PING_INTERVAL_MS / NATS_MAX_PINGS_OUT   how soon a silently dead server is noticed (2000 / 2)
 *   NATS_CONNECT_TIMEOUT_MS   how long one connect attempt may take before the next server is tried (5000)
 *
 * A server that is cut off without a reset (a network partition, a frozen host) leaves the TCP connection
 * open: nothing fails, requests just time out. nats.js notices only when `maxPingsOut` pings in a row
 * went unanswered, i.e. 2-3 ping intervals after the cut; then it reconnects to another server. With
 * nats.js' default (2 minutes) and even with 10 s, a service on the healthy side of a partition stayed on
 * the cut-off server for the whole cut (bench/RESULTS.md, eleventh session); 2 s notices it in 4-6 s. A
 * ping is a few bytes a connection.
 *
 * The inbox prefix is what lets a server keep users apart: with `_INBOX_acme` a user may subscribe to
 * `_INBOX_acme.>` only, and never sees replies meant for another (deploy/nats/). nats.js uses it for its
 * own requests and consumers; taskjet's inboxes (RequestMux, the worker's puller, bucket loads) take it from
 * the connection too (inbox.ts), so a connection made elsewhere with `inboxPrefix` works the same.
 */
import { readFileSync } from "node:fs";
import {
  connect,
  credsAuthenticator,
  nkeyAuthenticator,
  type NatsConnection,
  type NodeConnectionOptions,
} from "@nats-io/transport-node";
import { z } from "zod";
import { DEFAULT_PREFIX, parseOrThrow, PREFIX_PATTERN, readSettings, type Setting } from "@taskjet/protocol";

/** Subject tokens without wildcards, as nats.js and the server's permissions need them. */
const INBOX_PREFIX_PATTERN = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;

export const NatsConfigSchema = z
  .strictObject({
    servers: z
      .array(z.string().min(1))
      .min(1, "give at least one NATS server URL")
      .default(["nats://127.0.0.1:4222"]),
    credsFile: z.string().min(1).optional(),
    /** an nkey user's seed (`SU...`), or a file holding it; the server knows the user by its public key */
    nkeySeed: z
      .string()
      .regex(/^SU[A-Z2-7]+$/, "nkeySeed must be a user seed (starts with SU)")
      .optional(),
    nkeySeedFile: z.string().min(1).optional(),
    user: z.string().optional(),
    password: z.string().optional(),
    token: z.string().optional(),
    tls: z
      .strictObject({
        caFile: z.string().optional(),
        certFile: z.string().optional(),
        keyFile: z.string().optional(),
      })
      .optional(),
    prefix: z
      .string()
      .regex(PREFIX_PATTERN, 'prefix must be 1-32 letters, digits, "_" or "-"')
      .default(DEFAULT_PREFIX),
    /** prefix of the connection's reply inboxes, e.g. `_INBOX_acme`: what the server lets this user subscribe to */
    inboxPrefix: z
      .string()
      .regex(INBOX_PREFIX_PATTERN, 'inboxPrefix must be subject tokens without wildcards, e.g. "_INBOX_acme"')
      .optional(),
    /** shown in the server's connection list */
    name: z.string().optional(),
    /** a ping every this many ms; `maxPingsOut` unanswered in a row mark the server dead: reconnect */
    pingIntervalMs: z.coerce.number().int().min(100).max(600_000).default(2_000),
    maxPingsOut: z.coerce.number().int().min(1).max(100).default(2),
    /** one connect attempt's limit, so a black-holed server in the list does not hold up a reconnect */
    connectTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(5_000),
  })
  // creds, nkey seed and nkey seed file each set the connection's authenticator: only one may win
  .superRefine((c, ctx) => {
    const given = (["credsFile", "nkeySeed", "nkeySeedFile"] as const).filter((k) => c[k] !== undefined);
    if (given.length > 1)
      ctx.addIssue({
        code: "custom",
        path: [given[1]!],
        message: `give one of credsFile, nkeySeed and nkeySeedFile, not ${given.join(" and ")}`,
      });
  });
export type NatsConfig = z.output<typeof NatsConfigSchema>;
export type NatsConfigInput = z.input<typeof NatsConfigSchema>;

const LOG_LEVEL = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
  error: "must be one of fatal, error, warn, info, debug, trace, silent",
});
const LOG_LEVEL_SETTINGS = {
  level: { env: "TASKJET_LOG_LEVEL", schema: LOG_LEVEL },
  /** deprecated alias, read only when TASKJET_LOG_LEVEL is unset (docs/configuration.md) */
  alias: { env: "LOG_LEVEL", schema: LOG_LEVEL },
} satisfies Record<string, Setting>;

/**
 * The pino log level of every taskjet process (the scheduler, the worker, the gateway and the CLI's
 * services): TASKJET_LOG_LEVEL, else `fallback` (info). LOG_LEVEL is read as a deprecated alias when
 * TASKJET_LOG_LEVEL is unset, so deployments that set it keep their level. A value that is no pino level
 * is a ValidationError naming the variable.
 */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env, fallback = "info"): string {
  const s = readSettings(LOG_LEVEL_SETTINGS, { env });
  return s.level ?? s.alias ?? fallback;
}

/** Reads NATS settings from the environment; explicit `overrides` win. Throws ValidationError naming the field. */
export function natsConfigFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  overrides: NatsConfigInput = {},
): NatsConfig {
  const tls =
    env["NATS_TLS_CA"] || env["NATS_TLS_CERT"] || env["NATS_TLS_KEY"]
      ? { caFile: env["NATS_TLS_CA"], certFile: env["NATS_TLS_CERT"], keyFile: env["NATS_TLS_KEY"] }
      : undefined;
  const fromEnv: Record<string, unknown> = {
    servers: env["NATS_URL"]
      ?.split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    credsFile: env["NATS_CREDS"] || undefined,
    nkeySeed: env["NATS_NKEY_SEED"] || undefined,
    nkeySeedFile: env["NATS_NKEY_SEED_FILE"] || undefined,
    user: env["NATS_USER"] || undefined,
    password: env["NATS_PASSWORD"] || undefined,
    token: env["NATS_TOKEN"] || undefined,
    tls,
    prefix: env["TASKJET_PREFIX"] || undefined,
    inboxPrefix: env["TASKJET_NATS_INBOX_PREFIX"] || undefined,
    pingIntervalMs: env["NATS_PING_INTERVAL_MS"] || undefined,
    maxPingsOut: env["NATS_MAX_PINGS_OUT"] || undefined,
    connectTimeoutMs: env["NATS_CONNECT_TIMEOUT_MS"] || undefined,
  };
  const merged = {
    ...fromEnv,
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
  };
  for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
  return parseOrThrow(NatsConfigSchema, merged);
}

/**
 * Connects with reconnects forever: services ride out server restarts without restarting themselves.
 * `extra` passes further nats.js connection options through (they win over ours).
 */
export async function connectNats(
  config: NatsConfig,
  extra: Partial<NodeConnectionOptions> = {},
): Promise<NatsConnection> {
  const tls = config.tls
    ? {
        ...(config.tls.caFile ? { caFile: config.tls.caFile } : {}),
        ...(config.tls.certFile ? { certFile: config.tls.certFile } : {}),
        ...(config.tls.keyFile ? { keyFile: config.tls.keyFile } : {}),
      }
    : undefined;
  const seed =
    config.nkeySeed ?? (config.nkeySeedFile ? readFileSync(config.nkeySeedFile, "utf8") : undefined);
  return connect({
    servers: config.servers,
    name: config.name,
    ...(config.inboxPrefix ? { inboxPrefix: config.inboxPrefix } : {}),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: config.pingIntervalMs,
    maxPingOut: config.maxPingsOut,
    timeout: config.connectTimeoutMs,
    ...(config.credsFile ? { authenticator: credsAuthenticator(readFileSync(config.credsFile)) } : {}),
    ...(seed ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(seed.trim())) } : {}),
    ...(config.user ? { user: config.user, pass: config.password } : {}),
    ...(config.token ? { token: config.token } : {}),
    ...(tls ? { tls } : {}),
    // nats.js captures a stack trace per request for async errors: measurable CPU on hot paths
    noAsyncTraces: true,
    ...extra,
  });
}
