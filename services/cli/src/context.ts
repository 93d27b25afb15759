/** What every command gets: the output streams, the environment, and a way to a connected client. */
import { contextFromCarrier, otelContext, tracingOn } from "@taskjet/nats";
import { TaskjetClient } from "@taskjet/client";
import { UnavailableError, isTaskjetError } from "@taskjet/protocol";
import { resolveCliConfig, type CliConfig, type GlobalFlags } from "./config.js";
import type { Io } from "./output.js";

export class CommandContext {
  private live = false;

  constructor(
    readonly io: Io,
    readonly env: NodeJS.ProcessEnv,
    /** resolves when the user asks a live command to stop (SIGINT/SIGTERM) */
    readonly interrupted: Promise<void>,
  ) {}

  /** A live command (services, dev, events) handles Ctrl-C itself; others are simply ended by it. */
  markLive(): void {
    this.live = true;
  }

  get isLive(): boolean {
    return this.live;
  }

  config(flags: GlobalFlags): CliConfig {
    return resolveCliConfig(flags, this.env);
  }

  /** Connects, runs `fn`, and always closes the connection. */
  async withClient<T>(flags: GlobalFlags, fn: (client: TaskjetClient) => Promise<T>): Promise<T> {
    const client = await this.connect(flags);
    try {
      // TRACEPARENT / TRACESTATE (W3C): the CLI's requests join that trace when the process traces
      const env = this.env ?? process.env;
      if (!tracingOn() || !env["TRACEPARENT"]) return await fn(client);
      const carrier = { traceparent: env["TRACEPARENT"], tracestate: env["TRACESTATE"] };
      return await otelContext.with(contextFromCarrier(carrier), () => fn(client));
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  async connect(flags: GlobalFlags): Promise<TaskjetClient> {
    const cfg = this.config(flags);
    try {
      return await TaskjetClient.connect(
        { ...cfg.nats, name: "taskjet-cli", tenant: cfg.tenant, requestTimeoutMs: cfg.requestTimeoutMs },
        {},
      );
    } catch (err) {
      if (isTaskjetError(err)) throw err;
      throw new UnavailableError(
        `cannot connect to NATS at ${cfg.nats.servers.join(",")}: ${(err as Error).message} ` +
          "(set --server or NATS_URL)",
        { cause: err, field: "server" },
      );
    }
  }

  out(text: string): void {
    this.io.stdout.write(text);
  }
}
