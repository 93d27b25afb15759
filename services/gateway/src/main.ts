#!/usr/bin/env node
/**
 * `node services/gateway/dist/main.js [--port N] [--host H] [--token T]... [--tenant T] [--insecure-dev]`;
 * the environment as in config.ts. Exit 2 for bad settings, 1 for other failures; SIGINT/SIGTERM stop it.
 */
import { parseArgs } from "node:util";
import { isTaskjetError, ValidationError } from "@taskjet/protocol";
import { GatewayService } from "./GatewayService.js";
import { logLevelFromEnv } from "@taskjet/nats";

async function main(): Promise<void> {
  let values: { port?: string; host?: string; token?: string[]; tenant?: string; "insecure-dev"?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: "string" },
        host: { type: "string" },
        token: { type: "string", multiple: true },
        tenant: { type: "string" },
        "insecure-dev": { type: "boolean" },
      },
    }));
  } catch (err) {
    throw new ValidationError(
      `${(err as Error).message} (flags: --port --host --token --tenant --insecure-dev)`,
      {
        field: "usage",
      },
    );
  }
  const gateway = new GatewayService({
    ...(values.port !== undefined ? { port: Number(values.port) } : {}),
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(values.token ? { tokens: values.token } : {}),
    ...(values.tenant !== undefined ? { tenant: values.tenant } : {}),
    ...(values["insecure-dev"] ? { insecureDev: true } : {}),
    logger: { level: logLevelFromEnv() },
  });
  const addr = await gateway.start();
  process.stderr.write(`taskjet gateway listening on ${addr.url}\n`);
  const stop = () => {
    gateway.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`error stopping: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((err: unknown) => {
  if (isTaskjetError(err)) {
    process.stderr.write(`error ${err.code}${err.field ? ` (${err.field})` : ""}: ${err.message}\n`);
    process.exit(err.code === "INVALID_ARGUMENT" ? 2 : 1);
  }
  process.stderr.write(`error INTERNAL: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
