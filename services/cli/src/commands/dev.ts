/**
 * `taskjet dev`: scheduler, worker and gateway in one process against NATS_URL, or against a nats-server it
 * starts itself in ./.taskjet/nats, plus a demo job (console type, every 5 s) whose runs are printed.
 * Ctrl-C stops everything: gateway, worker, scheduler, then the nats-server.
 *
 * The store folder (--store, default ./.taskjet) is locked for the run (devLock.ts): a second dev run on
 * it is refused, and a nats-server orphaned there by a SIGKILLed run is stopped before a new one starts.
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { TaskjetClient, type EventSubscription } from "@taskjet/client";
import { parseOrThrow, token } from "@taskjet/protocol";
import type { CommandContext } from "../context.js";
import { acquireDevLock, type DevLock } from "../devLock.js";
import { intFlag, type GlobalFlags } from "../config.js";
import { startDevNatsServer, type DevNatsServer } from "../natsServer.js";
import { createScheduler, createWorkerService, serviceLogger, type Service } from "../services.js";

export const DEMO_JOB_ID = "dev-demo";
/** What a dev run's worker may fetch besides public addresses: this machine (docs/cli.md, `dev`). */
export const DEV_HTTP_ALLOW = ["127.0.0.0/8", "::1"];

interface DevFlags extends GlobalFlags {
  port: string;
  node: string;
  gateway: boolean;
  demo: boolean;
  store: string;
  handlers?: string[];
}

export function devCommand(program: Command, ctx: CommandContext): void {
  program
    .command("dev")
    .description(
      "scheduler + worker + gateway in one process, with a demo job (starts nats-server if NATS_URL is unset)",
    )
    .option("--port <n>", "gateway port (0 = random)", "8080")
    .option("--node <name>", "the worker's node", "dev")
    .option("--handlers <module...>", "JS module(s) exporting register(worker) that add handlers")
    .option("--no-gateway", "do not start the REST gateway")
    .option("--no-demo", "do not queue the demo job")
    .option(
      "--store <dir>",
      "folder of the nats-server's data and the dev lock (without NATS_URL)",
      ".taskjet",
    )
    .action(async (_o, cmd: Command) => {
      const flags = cmd.optsWithGlobals<DevFlags>();
      const port = intFlag(flags.port, "port", 0, 65535) ?? 8080;
      const node = parseOrThrow(token("node"), flags.node, "node");
      const external = Boolean(flags.server ?? ctx.env["NATS_URL"]);
      ctx.config(flags); // validate every setting before starting anything
      ctx.markLive();

      let nats: DevNatsServer | undefined;
      let lock: DevLock | undefined;
      const services: Service[] = [];
      let client: TaskjetClient | undefined;
      let sub: EventSubscription | undefined;
      let runError: unknown;
      try {
        if (!external) {
          const storeRoot = resolve(process.cwd(), flags.store);
          mkdirSync(storeRoot, { recursive: true });
          lock = await acquireDevLock(storeRoot, (line) => ctx.io.stderr.write(line));
          nats = await startDevNatsServer(process.cwd(), undefined, undefined, storeRoot);
          lock.setNats(nats.pid, Number(new URL(nats.url).port));
          ctx.io.stderr.write(`nats-server ${nats.url} (pid ${nats.pid}, store ${nats.storeDir})\n`);
        }
        const cfg = ctx.config(nats ? { ...flags, server: nats.url } : flags);
        const logger = serviceLogger(ctx.env, "warn");
        const scheduler = await createScheduler(cfg.nats, logger, ctx.env);
        await scheduler.start();
        services.push(scheduler);
        const worker = await createWorkerService(cfg.nats, ctx.env, {
          node,
          logger,
          handlerModules: flags.handlers ?? [],
          // a local dev run: http jobs and webhooks may reach services on this machine (a TASKJET_HTTP_DENY
          // entry at least as precise still wins); private networks stay refused
          httpAllow: DEV_HTTP_ALLOW,
        });
        await worker.start();
        services.push(worker);
        let gatewayUrl = "(off)";
        let dashboardUrl: string | undefined;
        if (flags.gateway) {
          const { GatewayService } = await import("@taskjet/gateway");
          const gateway = new GatewayService({
            env: {},
            nats: cfg.nats,
            tenant: cfg.tenant,
            port,
            host: "127.0.0.1",
            insecureDev: true,
          });
          const { url } = await gateway.start();
          gatewayUrl = `${url} (no authentication: dev run)`;
          dashboardUrl = `${url}/dashboard/`;
          services.push({ name: "gateway", start: () => gateway.start(), stop: () => gateway.stop() });
        }
        client = await TaskjetClient.connect({ ...cfg.nats, tenant: cfg.tenant }, {});
        sub = client.events.on({ phases: ["after", "deadletter", "skipped"] }, (e) => {
          const d = e.data;
          const what = d.error
            ? `failed: ${d.error}`
            : d.reason
              ? `skipped: ${d.reason}`
              : `ok${d.result === undefined ? "" : `: ${JSON.stringify(d.result)}`}`;
          ctx.out(`[event] ${e.phase} ${e.jobId} (${e.jobType}) run #${d.triggered} ${what}\n`);
        });
        await sub.ready();
        if (flags.demo) {
          const r = await client.scheduler.queue({
            id: DEMO_JOB_ID,
            name: "demo: hello every 5 seconds",
            type: "console",
            group: "demo",
            jobType: "period",
            cron: "*/5 * * * * *",
            cronDialect: "standard",
            args: { message: "hello from the taskjet demo job" },
          });
          if (!r.created && (r.job.status === "paused" || r.job.status === "stopped")) {
            ctx.io.stderr.write(
              `demo job ${DEMO_JOB_ID} is ${r.job.status}: taskjet resume/start ${DEMO_JOB_ID}\n`,
            );
          }
        }
        const natsUrl = nats?.url ?? cfg.nats.servers.join(",");
        ctx.io.stderr.write(
          [
            "",
            "taskjet dev is running",
            `  NATS      ${natsUrl}`,
            `  gateway   ${gatewayUrl}`,
            dashboardUrl ? `  dashboard ${dashboardUrl}` : "",
            `  worker    node ${node} (types: http, sleep, console)`,
            flags.demo ? `  demo job  ${DEMO_JOB_ID}: console, every 5 s` : "",
            `  try       NATS_URL=${natsUrl} npx taskjet list`,
            "Ctrl-C stops everything",
            "",
          ]
            .filter((l) => l !== "")
            .join("\n") + "\n",
        );
        await ctx.interrupted;
        ctx.io.stderr.write("stopping...\n");
      } catch (err) {
        runError = err;
      }
      // stop everything even if one part fails; the first failure is the command's error
      const failures = await stopAll(ctx, [
        ["events", () => sub?.close()],
        ["client", () => client?.close()],
        ...services.reverse().map((s) => [s.name ?? "service", () => s.stop()] as const),
        ["nats-server", () => nats?.stop()],
        // last: while the lock is held, a new run cannot start a second server on the store
        ["dev lock", () => void lock?.release()],
      ]);
      if (runError !== undefined) throw runError;
      if (failures[0] !== undefined) throw failures[0];
      ctx.io.stderr.write("stopped\n");
    });
}

async function stopAll(
  ctx: CommandContext,
  steps: (readonly [string, () => Promise<unknown> | undefined])[],
): Promise<unknown[]> {
  const failures: unknown[] = [];
  for (const [name, step] of steps) {
    if (ctx.env["TASKJET_DEBUG"]) ctx.io.stderr.write(`stopping ${name}\n`);
    try {
      await step();
    } catch (err) {
      failures.push(err);
      ctx.io.stderr.write(`error while stopping: ${(err as Error).message}\n`);
    }
  }
  return failures;
}
