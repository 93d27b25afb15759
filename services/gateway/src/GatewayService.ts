/**
 * The REST gateway as a service: idempotent `start()` (connect, build, listen) and `stop()` (close the
 * listener, then the NATS connection it opened). Concurrent callers share the in-flight promise.
 */
import type { FastifyInstance, FastifyServerOptions } from "fastify";
import type { NatsConnection } from "@nats-io/nats-core";
import { connectNats, type NatsConfigInput } from "@taskjet/nats";
import { TaskjetClient } from "@taskjet/client";
import { FailedPreconditionError, UnavailableError } from "@taskjet/protocol";
import { gatewayConfigFromEnv, type GatewayConfig, type GatewaySettingsInput } from "./config.js";
import { buildApp } from "./app.js";

export interface GatewayServiceOptions extends GatewaySettingsInput {
  /** NATS settings; what is not given comes from the environment (NATS_URL, ...) */
  nats?: NatsConfigInput;
  /** use this connection instead of opening one; `stop()` leaves it open */
  connection?: NatsConnection;
  /** fastify's logger option (default off) */
  logger?: FastifyServerOptions["logger"];
  /** environment to read settings from (default process.env) */
  env?: NodeJS.ProcessEnv;
}

export interface GatewayAddress {
  host: string;
  port: number;
  url: string;
}

export class GatewayService {
  /** resolved settings (validated in the constructor: a bad setting throws INVALID_ARGUMENT at once) */
  readonly config: GatewayConfig;
  private starting: Promise<GatewayAddress> | undefined;
  private stopping: Promise<void> | undefined;
  private appInstance: FastifyInstance | undefined;
  private client: TaskjetClient | undefined;
  private addr: GatewayAddress | undefined;
  private ownedConnection: NatsConnection | undefined;

  constructor(private readonly opts: GatewayServiceOptions = {}) {
    const { nats, connection: _c, logger: _l, env, ...settings } = opts;
    this.config = gatewayConfigFromEnv(env ?? process.env, { ...settings, ...(nats ? { nats } : {}) });
  }

  /** Connects and listens; resolves to the address (port 0 picks a free port). */
  start(): Promise<GatewayAddress> {
    if (this.stopping)
      return Promise.reject(new Error("the gateway was stopped: create a new GatewayService"));
    this.starting ??= this.doStart().catch(async (err: unknown) => {
      await this.release();
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.starting?.catch(() => undefined);
      await this.release();
    })();
    return this.stopping;
  }

  /** The fastify app (after start), e.g. for `app.inject()`. */
  get app(): FastifyInstance {
    if (!this.appInstance) throw new Error("the gateway is not started: await start() first");
    return this.appInstance;
  }

  get address(): GatewayAddress | undefined {
    return this.addr;
  }

  private async doStart(): Promise<GatewayAddress> {
    const c = this.config;
    const nc = this.opts.connection ?? (await connectOrUnavailable(c));
    const clientOptions = { prefix: c.nats.prefix, tenant: c.tenant, requestTimeoutMs: c.requestTimeoutMs };
    if (!this.opts.connection) this.ownedConnection = nc;
    this.client = TaskjetClient.fromConnection(nc, clientOptions);
    this.appInstance = buildApp({ client: this.client, settings: c, logger: this.opts.logger ?? false });
    await this.appInstance.listen({ port: c.port, host: c.host }).catch((err: unknown) => {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EADDRINUSE" && code !== "EACCES") throw err;
      throw new FailedPreconditionError(
        code === "EADDRINUSE"
          ? `port ${c.port} on ${c.host} is already in use: choose another (--port, TASKJET_GATEWAY_PORT; 0 picks a free one)`
          : `no permission to listen on port ${c.port} on ${c.host}: choose a port above 1023 (--port, TASKJET_GATEWAY_PORT)`,
        { field: "port", cause: err },
      );
    });
    const a = this.appInstance.server.address();
    const port = typeof a === "object" && a ? a.port : c.port;
    const shownHost = c.host === "0.0.0.0" || c.host === "::" ? "127.0.0.1" : c.host;
    this.addr = { host: c.host, port, url: `http://${shownHost}:${port}` };
    return this.addr;
  }

  private async release(): Promise<void> {
    const app = this.appInstance;
    const client = this.client;
    this.appInstance = undefined;
    this.client = undefined;
    if (app) await app.close();
    if (client) await client.close();
    const nc = this.ownedConnection;
    this.ownedConnection = undefined;
    if (nc && !nc.isClosed()) await nc.drain();
  }
}

async function connectOrUnavailable(c: GatewayConfig): Promise<NatsConnection> {
  try {
    return await connectNats({ ...c.nats, name: c.nats.name ?? "taskjet-gateway" });
  } catch (err) {
    throw new UnavailableError(
      `cannot connect to NATS at ${c.nats.servers.join(",")}: ${(err as Error).message}`,
      {
        cause: err,
        field: "servers",
      },
    );
  }
}
