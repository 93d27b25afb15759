/**
 * Gateway settings from flags and the environment, validated once. Environment:
 *
 *   TASKJET_GATEWAY_PORT          listen port (default 8080; 0 = a random free port)
 *   TASKJET_GATEWAY_HOST          listen address (default 0.0.0.0)
 *   TASKJET_GATEWAY_TOKENS        comma-separated bearer tokens; one is required ...
 *   TASKJET_GATEWAY_READONLY_TOKENS  comma-separated bearer tokens that may only read (GET): dashboards, viewers
 *   TASKJET_GATEWAY_INSECURE_DEV  ... unless this is 1/true (a local dev run: no authentication)
 *   TASKJET_GATEWAY_SAMPLE_SECONDS  the dashboard's sampling period (default 10; 1-300)
 *   TASKJET_TENANT                the tenant every request acts on (default `default`)
 *   TASKJET_REQUEST_TIMEOUT_MS    timeout of each control request to the scheduler (default 10000)
 *   plus the NATS settings of @taskjet/nats (NATS_URL, NATS_CREDS, ..., TASKJET_PREFIX)
 */
import { z } from "zod";
import { natsConfigFromEnv, type NatsConfig, type NatsConfigInput } from "@taskjet/nats";
import {
  envText,
  parseOrThrow,
  readSettings,
  token,
  ValidationError,
  withoutUndefined,
  type Setting,
} from "@taskjet/protocol";

export const DEFAULT_GATEWAY_PORT = 8080;

const GatewaySettingsSchema = z.strictObject({
  port: z.coerce
    .number({ error: "port must be a number" })
    .int("port must be a whole number")
    .min(0, "port must be 0-65535")
    .max(65535, "port must be 0-65535")
    .default(DEFAULT_GATEWAY_PORT),
  host: z.string().min(1).default("0.0.0.0"),
  tokens: z.array(z.string().min(8, "each token must have at least 8 characters")).default([]),
  /** tokens that may read but not change anything: a mutating route answers 403 PERMISSION_DENIED */
  readOnlyTokens: z
    .array(z.string().min(8, "each read-only token must have at least 8 characters"))
    .default([]),
  /** how often the dashboard's overview samples rates and lateness (its charts keep the last hour) */
  dashboardSampleSeconds: z.coerce
    .number({ error: "dashboardSampleSeconds must be a number" })
    .int("dashboardSampleSeconds must be a whole number")
    .min(1, "dashboardSampleSeconds must be 1-300")
    .max(300, "dashboardSampleSeconds must be 1-300")
    .default(10),
  insecureDev: z.boolean().default(false),
  tenant: token("tenant").default("default"),
  requestTimeoutMs: z.coerce.number().int().positive().max(600_000).default(10_000),
  bodyLimitBytes: z.number().int().positive().default(1_048_576),
});
export type GatewaySettingsInput = z.input<typeof GatewaySettingsSchema>;
export type GatewaySettings = z.output<typeof GatewaySettingsSchema>;

export interface GatewayConfig extends GatewaySettings {
  nats: NatsConfig;
}

/** Where each setting is read from (readSettings); the schema above checks the values. */
const GATEWAY_ENV = {
  port: { env: "TASKJET_GATEWAY_PORT", schema: envText.string() },
  host: { env: "TASKJET_GATEWAY_HOST", schema: envText.string() },
  tokens: { env: "TASKJET_GATEWAY_TOKENS", schema: envText.list() },
  readOnlyTokens: { env: "TASKJET_GATEWAY_READONLY_TOKENS", schema: envText.list() },
  dashboardSampleSeconds: { env: "TASKJET_GATEWAY_SAMPLE_SECONDS", schema: envText.string() },
  insecureDev: { env: "TASKJET_GATEWAY_INSECURE_DEV", schema: envText.bool() },
  tenant: { env: "TASKJET_TENANT", schema: envText.string() },
  requestTimeoutMs: { env: "TASKJET_REQUEST_TIMEOUT_MS", schema: envText.string() },
} satisfies Record<string, Setting>;

/** Resolves the gateway's settings: flags (`overrides`) win over the environment. */
export function gatewayConfigFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  overrides: GatewaySettingsInput & { nats?: NatsConfigInput } = {},
): GatewayConfig {
  const { nats: natsOverrides, ...flags } = overrides;
  const fromEnv = readSettings(GATEWAY_ENV, { env });
  const merged = { ...fromEnv, ...withoutUndefined(flags) } as GatewaySettingsInput;
  const settings = resolveGatewaySettings(merged);
  return { ...settings, nats: natsConfigFromEnv(env, natsOverrides ?? {}) };
}

/** Validates settings and the rule that a gateway needs a token unless it is a local dev run. */
export function resolveGatewaySettings(input: GatewaySettingsInput): GatewaySettings {
  const s = parseOrThrow(GatewaySettingsSchema, withoutUndefined(input));
  if (s.tokens.length === 0 && !s.insecureDev) {
    throw new ValidationError(
      "the gateway needs at least one bearer token: set TASKJET_GATEWAY_TOKENS (comma-separated) or pass " +
        "--token; for a local dev run without authentication pass --insecure-dev " +
        "(TASKJET_GATEWAY_INSECURE_DEV=1)",
      { field: "tokens" },
    );
  }
  const both = s.readOnlyTokens.find((t) => s.tokens.includes(t));
  if (both !== undefined) {
    throw new ValidationError(
      "a token is both a full token and a read-only token: give each token one role",
      { field: "readOnlyTokens" },
    );
  }
  if (s.readOnlyTokens.length > 0 && s.tokens.length === 0) {
    throw new ValidationError(
      "read-only tokens need at least one full token (TASKJET_GATEWAY_TOKENS, --token): without one the " +
        "gateway runs without authentication and the read-only tokens would protect nothing",
      { field: "readOnlyTokens" },
    );
  }
  return s;
}
