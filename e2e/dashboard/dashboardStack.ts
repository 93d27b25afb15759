/**
 * A real stack for the dashboard's browser tests and screenshots: nats-server, scheduler, a worker of node
 * n1 with test handlers, and a gateway with one full and one read-only token that serves the built app.
 */
import { GatewayService } from "@taskjet/gateway";
import type { JobInput } from "@taskjet/protocol";
import { waitFor } from "@taskjet/testing";
import { startStack, type Stack } from "@taskjet/test-stack";

export const FULL_TOKEN = "dashboard-full-token-0001";
export const READ_TOKEN = "dashboard-read-token-0001";

export interface DashboardStack {
  stack: Stack;
  gateway: GatewayService;
  /** the gateway's base URL; the app is at `${url}/dashboard/` */
  url: string;
  stop(): Promise<void>;
}

export async function startDashboardStack(opts: { sampleSeconds?: number } = {}): Promise<DashboardStack> {
  const stack = await startStack({
    worker: true,
    node: "n1",
    register: (w) => {
      w.register("echo", async (ctx) => ({ echoed: ctx.args }));
      w.register("report", async (ctx) => {
        await new Promise((r) => setTimeout(r, 30 + Math.random() * 40));
        return { rows: Object.keys(ctx.args).length * 100 };
      });
      w.register("boom", async () => {
        throw new Error("upstream refused the connection (ECONNREFUSED 10.0.0.7:443)");
      });
    },
  });
  const gateway = new GatewayService({
    connection: stack.nc,
    nats: { prefix: stack.prefix },
    port: 0,
    host: "127.0.0.1",
    tokens: [FULL_TOKEN],
    readOnlyTokens: [READ_TOKEN],
    dashboardSampleSeconds: opts.sampleSeconds ?? 2,
    env: {},
  });
  const url = (await gateway.start()).url;
  return {
    stack,
    gateway,
    url,
    stop: async () => {
      await gateway.stop();
      await stack.stop();
    },
  };
}

/** Jobs of every kind and state the pages show: recurring, once, paused, stopped, failed (dead-lettered). */
export async function seedJobs(stack: Stack): Promise<{ ids: Record<string, string> }> {
  const s = stack.client.scheduler;
  const jobs: JobInput[] = [
    {
      id: "monthly-report",
      name: "monthly revenue report",
      group: "billing",
      type: "report",
      jobType: "period",
      cron: "0 0 9 1 * ?",
      timeZone: "Europe/Berlin",
      args: { month: "current" },
    },
    {
      id: "heartbeat",
      name: "heartbeat every 2 s",
      group: "ops",
      type: "echo",
      jobType: "period",
      cron: "*/2 * * * * ?",
      args: { ping: true },
    },
    {
      id: "invoice-run",
      name: "nightly invoice run",
      group: "billing",
      type: "report",
      jobType: "period",
      cron: "0 30 1 * * ?",
      timeZone: "Europe/Berlin",
    },
    {
      id: "cache-warmup",
      name: "cache warm-up every 5 minutes",
      group: "ops",
      type: "echo",
      jobType: "persistent",
      intervalSeconds: 300,
    },
    { id: "sync-crm", name: "sync the CRM", group: "integrations", type: "boom", maxTryCount: 1 },
    {
      id: "welcome-mail",
      name: "send welcome mail",
      group: "mail",
      type: "echo",
      args: { to: "ada@example.com" },
    },
  ];
  for (let i = 1; i <= 12; i++) {
    jobs.push({
      id: `export-${String(i).padStart(2, "0")}`,
      name: `customer export ${i}`,
      group: i % 2 === 0 ? "exports" : "analytics",
      type: "report",
      jobType: "period",
      cron: `0 ${i} 3 * * ?`,
      timeZone: "UTC",
      ...(i % 3 === 0 ? { nodeName: "n1" } : {}),
    });
  }
  for (const j of jobs) await s.queue(j);
  await s.pause(["export-03", "export-04"]);
  await s.stop(["export-05"]);
  await waitFor(async () => (await s.get("sync-crm")).isAbandoned, {
    timeoutMs: 20_000,
    message: "sync-crm given up on (its dead letter)",
  });
  return { ids: Object.fromEntries(jobs.map((j) => [j.id!, j.id!])) };
}
