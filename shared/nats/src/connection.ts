/**
 * Connection settings, from flags or the environment, validated once with zod.
 *
 *   NATS_URL          comma-separated server URLs (default nats://127.0.0.1:4222)
 *   NATS_CREDS        path to a .creds file (JWT + nkey seed)
 *   NATS_USER / NATS_PASSWORD, NATS_TOKEN
 *   NATS_TLS_CA, NATS_TLS_CERT, NATS_TLS_KEY   PEM file paths; any of them turns TLS on
 *   TASKJET_PREFIX    subject prefix (default taskjet)
 */
import { readFileSync } from "node:fs";
import {
  connect,
  credsAuthenticator,
  type NatsConnection,
  type NodeConnectionOptions,
} from "@nats-io/transport-node";
import { z } from "zod";
import { DEFAULT_PREFIX, parseOrThrow, PREFIX_PATTERN } from "@taskjet/protocol";

export const NatsConfigSchema = z.strictObject({
  servers: z
    .array(z.string().min(1))
    .min(1, "give at least one NATS server URL")
    .default(["nats://127.0.0.1:4222"]),
  credsFile: z.string().min(1).optional(),
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
  /** shown in the server's connection list */
  name: z.string().optional(),
});
export type NatsConfig = z.output<typeof NatsConfigSchema>;
export type NatsConfigInput = z.input<typeof NatsConfigSchema>;

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
    user: env["NATS_USER"] || undefined,
    password: env["NATS_PASSWORD"] || undefined,
    token: env["NATS_TOKEN"] || undefined,
    tls,
    prefix: env["TASKJET_PREFIX"] || undefined,
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
  return connect({
    servers: config.servers,
    name: config.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 10_000,
    ...(config.credsFile ? { authenticator: credsAuthenticator(readFileSync(config.credsFile)) } : {}),
    ...(config.user ? { user: config.user, pass: config.password } : {}),
    ...(config.token ? { token: config.token } : {}),
    ...(tls ? { tls } : {}),
    // nats.js captures a stack trace per request for async errors: measurable CPU on hot paths
    noAsyncTraces: true,
    ...extra,
  });
}
