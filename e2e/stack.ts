/**
 * Test stack: a real nats-server, a real scheduler (in-process) and optionally a worker-runtime worker with
 * test handlers, all under a unique prefix. Shared by the client, gateway and CLI suites, which import it
 * as `@taskjet/test-stack` (an alias of vitest.config.ts and tsconfig.json, not a package).
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { connectTo, startNats, uniqueName, waitFor, type NatsServerFixture } from "@taskjet/testing";
import { SchedulerService, type SchedulerOptions } from "@taskjet/scheduler";
import { createWorker, type Worker, type WorkerOptions } from "@taskjet/worker-runtime";
import { createClient, TaskjetClient, type ClientOptionsInput } from "@taskjet/client";
import { GatewayService } from "@taskjet/gateway";
import { WorkerService } from "@taskjet/worker";
import { pino } from "pino";

export interface Stack {
  nats: NatsServerFixture;
  prefix: string;
  nc: NatsConnection;
  client: TaskjetClient;
  scheduler: SchedulerService;
  worker: Worker | undefined;
  /** every job of the tenant (with revisions), sorted by id: compare before/after bad input */
  snapshot(tenant?: string): Promise<unknown[]>;
  stop(): Promise<void>;
}

export interface StackOptions {
  nats?: NatsServerFixture;
  worker?: boolean;
  node?: string;
  register?: (w: Worker) => void;
  /** more options of the scheduler and the worker */
  schedulerOptions?: Partial<SchedulerOptions>;
  workerOptions?: Partial<WorkerOptions>;
  /** more options of the stack's client (e.g. `fastLane: false` for workers that read fires only) */
  clientOptions?: Partial<ClientOptionsInput>;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const nats = opts.nats ?? (await startNats());
  const prefix = uniqueName("tj");
  const nc = await connectTo(nats.url, { maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const scheduler = new SchedulerService({ nats: nc, prefix, ...opts.schedulerOptions });
  await scheduler.start();
  let worker: Worker | undefined;
  if (opts.worker) {
    worker = createWorker({
      nc,
      prefix,
      node: opts.node ?? "n1",
      idlePollMs: 1000,
      heartbeatMs: 1000,
      ...opts.workerOptions,
    });
    opts.register?.(worker);
    await worker.start();
  }
  const client = createClient(nc, { prefix, tenant: "default", ...opts.clientOptions });
  await waitFor(() => client.scheduler.status().then((s) => s.leader !== undefined), {
    timeoutMs: 20_000,
    message: "a scheduler leader",
  });
  return {
    nats,
    prefix,
    nc,
    client,
    scheduler,
    worker,
    snapshot: async (tenant = "default") => {
      const c = tenant === "default" ? client : client.forTenant(tenant);
      const jobs = [];
      for await (const j of c.scheduler.iterate()) jobs.push(j);
      return jobs.sort((a, b) => a.id.localeCompare(b.id));
    },
    stop: async () => {
      await worker?.stop();
      await scheduler.stop();
      await nc.drain().catch(() => undefined);
      if (!opts.nats) await nats.stop();
    },
  };
}

/** The REST gateway over a stack's connection on a free local port, without auth (a dev setup). */
export async function startDevGateway(stack: Stack): Promise<{ gateway: GatewayService; url: string }> {
  const gateway = new GatewayService({
    connection: stack.nc,
    nats: { prefix: stack.prefix },
    port: 0,
    host: "127.0.0.1",
    env: { TASKJET_GATEWAY_INSECURE_DEV: "1" },
  });
  return { gateway, url: (await gateway.start()).url };
}

/**
 * The services the way a user runs them from NATS settings (a SchedulerService and a WorkerService of node
 * n1 with the built-in types, quiet logs) on a fresh nats-server under `prefix`, and a connected client.
 */
export async function startServices(prefix: string): Promise<{
  nats: NatsServerFixture;
  scheduler: SchedulerService;
  client: TaskjetClient;
  stop(): Promise<void>;
}> {
  const logger = pino({ level: "silent" });
  const nats = await startNats();
  const natsConfig = { servers: [nats.url], prefix };
  const scheduler = new SchedulerService({ natsConfig, logger });
  const worker = new WorkerService({ nats: natsConfig, node: "n1", concurrency: 4, logger });
  await Promise.all([scheduler.start(), worker.start()]);
  const client = await TaskjetClient.connect({ servers: [nats.url], prefix });
  await waitFor(async () => (await client.scheduler.status()).leader, { message: "a leader" });
  return {
    nats,
    scheduler,
    client,
    stop: async () => {
      await client.close();
      await worker.stop();
      await scheduler.stop();
      await nats.stop();
    },
  };
}
