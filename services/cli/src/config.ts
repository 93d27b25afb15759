/**
 * Connection settings of every command, from flags and the environment (flags win), validated once:
 *
 *   --server <urls>     NATS_URL           comma-separated NATS URLs (default nats://127.0.0.1:4222)
 *   --creds <file>      NATS_CREDS         credentials file (JWT + nkey seed)
 *   --user, --password  NATS_USER, NATS_PASSWORD
 *   --nats-token        NATS_TOKEN
 *   --tls-ca/-cert/-key NATS_TLS_CA, NATS_TLS_CERT, NATS_TLS_KEY   PEM files; any turns TLS on
 *   --prefix            TASKJET_PREFIX     subject prefix (default taskjet)
 *   --tenant            TASKJET_TENANT     tenant of management commands (default default)
 *   --timeout <ms>      TASKJET_REQUEST_TIMEOUT_MS   control request timeout (default 10000)
 */
import { accessSync, constants } from "node:fs";
import { natsConfigFromEnv, type NatsConfig, type NatsConfigInput } from "@taskjet/nats";
import { envText, readSettings, token, ValidationError, type Setting } from "@taskjet/protocol";

export interface GlobalFlags {
  server?: string;
  creds?: string;
  user?: string;
  password?: string;
  natsToken?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  prefix?: string;
  tenant?: string;
  timeout?: string;
  json?: boolean;
}

export interface CliConfig {
  nats: NatsConfig;
  tenant: string;
  requestTimeoutMs: number;
}

/** Settings of every command besides the NATS ones (readSettings: a flag wins over its variable). */
const SETTINGS = {
  tenant: { flag: "tenant", env: "TASKJET_TENANT", schema: token("tenant") },
  requestTimeoutMs: {
    flag: "timeout",
    env: "TASKJET_REQUEST_TIMEOUT_MS",
    schema: envText.int(1, 600_000, "must be a whole number of milliseconds from 1 to 600000"),
  },
} satisfies Record<string, Setting>;

export function resolveCliConfig(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): CliConfig {
  const overrides: NatsConfigInput = {};
  if (flags.server !== undefined) {
    overrides.servers = flags.server
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  }
  if (flags.creds !== undefined) overrides.credsFile = flags.creds;
  if (flags.user !== undefined) overrides.user = flags.user;
  if (flags.password !== undefined) overrides.password = flags.password;
  if (flags.natsToken !== undefined) overrides.token = flags.natsToken;
  if (flags.prefix !== undefined) overrides.prefix = flags.prefix;
  if (flags.tlsCa || flags.tlsCert || flags.tlsKey) {
    overrides.tls = {
      ...(flags.tlsCa ? { caFile: flags.tlsCa } : {}),
      ...(flags.tlsCert ? { certFile: flags.tlsCert } : {}),
      ...(flags.tlsKey ? { keyFile: flags.tlsKey } : {}),
    };
  }
  const nats = natsConfigFromEnv(env, overrides);
  for (const url of nats.servers) {
    if (!/^(nats|tls|ws|wss):\/\/|^[^:/]+(:\d+)?$/.test(url)) {
      throw new ValidationError(`"${url}" is not a NATS URL: use nats://host:port (--server or NATS_URL)`, {
        field: "server",
      });
    }
  }
  readable(nats.credsFile, "creds", "--creds or NATS_CREDS");
  readable(nats.tls?.caFile, "tlsCa", "--tls-ca or NATS_TLS_CA");
  readable(nats.tls?.certFile, "tlsCert", "--tls-cert or NATS_TLS_CERT");
  readable(nats.tls?.keyFile, "tlsKey", "--tls-key or NATS_TLS_KEY");
  if (nats.tls && Boolean(nats.tls.certFile) !== Boolean(nats.tls.keyFile)) {
    throw new ValidationError("a TLS client certificate needs both --tls-cert and --tls-key", {
      field: "tlsCert",
    });
  }
  const s = readSettings(SETTINGS, { env, flags: { ...flags } });
  return { nats, tenant: s.tenant ?? "default", requestTimeoutMs: s.requestTimeoutMs ?? 10_000 };
}

function readable(file: string | undefined, field: string, where: string): void {
  if (file === undefined) return;
  try {
    accessSync(file, constants.R_OK);
  } catch {
    throw new ValidationError(`cannot read ${file} (given by ${where})`, { field });
  }
}

/** Parses a whole number flag, or throws INVALID_ARGUMENT naming it. */
export function intFlag(
  value: string | undefined,
  field: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ValidationError(`--${field} must be a whole number from ${min} to ${max}, got "${value}"`, {
      field,
    });
  }
  return n;
}
