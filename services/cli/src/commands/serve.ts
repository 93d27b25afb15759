/** `taskjet scheduler | worker | gateway`: run one service until SIGINT/SIGTERM, then stop it gracefully. */
import type { Command } from "commander";
import { token, parseOrThrow } from "@taskjet/protocol";
import type { CommandContext } from "../context.js";
import { intFlag, type GlobalFlags } from "../config.js";
import { createScheduler, createWorkerService, logLevel, serviceLogger, type Service } from "../services.js";

export async function runUntilInterrupted(
  ctx: CommandContext,
  services: Service[],
  banner: () => string,
): Promise<void> {
  const started: Service[] = [];
  try {
    for (const s of services) {
      await s.start();
      started.push(s);
    }
    ctx.io.stderr.write(banner());
    const byItself = services.flatMap((s) => (s.stopped ? [s.stopped.then(() => "self" as const)] : []));
    const why = await Promise.race([ctx.interrupted.then(() => "signal" as const), ...byItself]);
    ctx.io.stderr.write(
      why === "signal" ? "stopping...\n" : "a service stopped by itself (shutdown request)\n",
    );
  } finally {
    // stop in reverse order of start: what depends on others goes first
    for (const s of started.reverse()) await s.stop();
  }
}

export function serveCommands(program: Command, ctx: CommandContext): void {
  program
    .command("scheduler")
    .description("run a scheduler replica (serves the control API; one replica leads and fires)")
    .option("--replica-id <id>", "stable id of this replica (default <host>-<pid>-<random>)")
    .option("--standby", "serve the API without campaigning for leadership (until `activate`)")
    .action(async (_o, cmd: Command) => {
      const flags = cmd.optsWithGlobals<GlobalFlags & { replicaId?: string; standby?: boolean }>();
      const cfg = ctx.config(flags);
      const replicaId =
        flags.replicaId === undefined
          ? undefined
          : parseOrThrow(token("replicaId", 128), flags.replicaId, "replicaId");
      ctx.markLive();
      const scheduler = await createScheduler(cfg.nats, serviceLogger(ctx.env), ctx.env, {
        ...(replicaId !== undefined ? { replicaId } : {}),
        ...(flags.standby ? { standby: true } : {}),
      });
      await runUntilInterrupted(
        ctx,
        [scheduler],
        () => `taskjet scheduler running (prefix ${cfg.nats.prefix}); Ctrl-C stops\n`,
      );
    });

  program
    .command("worker")
    .description("run a worker for a node (built-in types http, sleep, console, plus --handlers modules)")
    .option("--node <name>", "node this worker serves (env TASKJET_NODE)")
    .option("--handlers <module...>", "JS module(s) exporting register(worker) that add handlers")
    .option("--concurrency <n>", "runs at the same time (1-10000)")
    .action(async (_o, cmd: Command) => {
      const flags = cmd.optsWithGlobals<
        GlobalFlags & { node: string; handlers?: string[]; concurrency?: string }
      >();
      const cfg = ctx.config(flags);
      const node = flags.node === undefined ? undefined : parseOrThrow(token("node"), flags.node, "node");
      const concurrency = intFlag(flags.concurrency, "concurrency", 1, 10_000);
      ctx.markLive();
      const worker = await createWorkerService(cfg.nats, ctx.env, {
        ...(node !== undefined ? { node } : {}),
        logger: serviceLogger(ctx.env),
        handlerModules: flags.handlers ?? [],
        ...(concurrency !== undefined ? { concurrency } : {}),
      });
      await runUntilInterrupted(
        ctx,
        [worker],
        () => `taskjet worker running on node ${worker.node}; Ctrl-C stops\n`,
      );
    });

  program
    .command("gateway")
    .description("run the REST gateway")
    .option("--port <n>", "listen port (0 = random; env TASKJET_GATEWAY_PORT, default 8080)")
    .option("--host <addr>", "listen address (env TASKJET_GATEWAY_HOST, default 0.0.0.0)")
    .option("--token <token...>", "bearer token(s) (env TASKJET_GATEWAY_TOKENS, comma-separated)")
    .option("--insecure-dev", "no authentication: a local dev run only (env TASKJET_GATEWAY_INSECURE_DEV=1)")
    .action(async (_o, cmd: Command) => {
      const flags = cmd.optsWithGlobals<
        GlobalFlags & { port?: string; host?: string; token?: string[]; insecureDev?: boolean }
      >();
      const cfg = ctx.config(flags);
      const port = intFlag(flags.port, "port", 0, 65535);
      const { GatewayService } = await import("@taskjet/gateway");
      const gateway = new GatewayService({
        env: ctx.env,
        nats: cfg.nats,
        tenant: cfg.tenant,
        requestTimeoutMs: cfg.requestTimeoutMs,
        logger: { level: logLevel(ctx.env), stream: process.stderr },
        ...(port !== undefined ? { port } : {}),
        ...(flags.host !== undefined ? { host: flags.host } : {}),
        ...(flags.token ? { tokens: flags.token } : {}),
        ...(flags.insecureDev ? { insecureDev: true } : {}),
      });
      ctx.markLive();
      let url = "";
      const svc: Service = {
        start: async () => (url = (await gateway.start()).url),
        stop: () => gateway.stop(),
      };
      await runUntilInterrupted(ctx, [svc], () => `taskjet gateway listening on ${url}; Ctrl-C stops\n`);
    });
}
