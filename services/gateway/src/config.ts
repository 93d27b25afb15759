/**
 * Gateway settings from flags and the environment, validated once. Environment:
 *
 *   TASKJET_GATEWAY_PORT          listen port (default 8080; 0 = a random free port)
 *   TASKJET_GATEWAY_HOST          listen address (default 0.0.0.0)
 *   TASKJET_GATEWAY_TOKENS        comma-separated bearer tokens; one is required ...
 *   TASKJET_GATEWAY_INSECURE_DEV  ... unless this is 1/true (a local dev run: no authentication)
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
  return s;
}
