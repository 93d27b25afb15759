// The scheduler's and the worker's /metrics, /healthz and /readyz (TASKJET_METRICS_PORT) with real runs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { TaskjetClient } from "@taskjet/client";
import { SchedulerService, startSchedulerOps } from "@taskjet/scheduler";
import { startWorkerOps, WorkerService } from "@taskjet/worker";
import { startNats, uniqueName, waitFor, type NatsServerFixture } from "@taskjet/testing";
import type { OpsServer } from "@taskjet/observability";

const logger = pino({ level: "silent" });
let nats: NatsServerFixture;
let scheduler: SchedulerService;
let worker: WorkerService;
let client: TaskjetClient;
const ops: OpsServer[] = [];

beforeAll(async () => {
  nats = await startNats();
  const natsConfig = { servers: [nats.url], prefix: uniqueName("ops") };
  scheduler = new SchedulerService({ natsConfig, logger });
  worker = new WorkerService({ nats: natsConfig, node: "n1", logger });
  await Promise.all([scheduler.start(), worker.start()]);
  client = await TaskjetClient.connect({ servers: [nats.url], prefix: natsConfig.prefix });
});

afterAll(async () => {
  for (const o of ops) await o.close();
  await client?.close();
  await worker?.stop();
  await scheduler?.stop();
  await nats?.stop();
});

const text = async (port: number, path: string) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
};

describe("service metrics endpoints", () => {
  it("count fires and runs, and report readiness", async () => {
    const s = await startSchedulerOps(scheduler, 0);
    const w = await startWorkerOps(worker.worker, 0);
    ops.push(s, w);
    await waitFor(() => scheduler.isLeader(), { message: "leader" });
    await client.scheduler.queue({ id: "ok", name: "ok", type: "console", args: { message: "hi" } });
    // args the http type's schema accepts (a bad one is refused at accept time), a run that fails: the
    // worker refuses loopback addresses unless the operator allowed them
    await client.scheduler.queue({
      id: "bad",
      name: "bad",
      type: "http",
      args: { url: "http://127.0.0.1:9/" },
      maxTryCount: 1,
    });
    const metrics = await waitFor(
      async () => {
        const m = (await text(w.port, "/metrics")).body;
        return m.includes('taskjet_worker_runs_total{type="console",outcome="succeeded"} 1') &&
          m.includes('taskjet_worker_dead_letters_total{reason="abandoned"} 1')
          ? m
          : undefined;
      },
      { message: "worker counted the success and the dead letter" },
    );
    expect(metrics).toContain('taskjet_worker_runs_total{type="http",outcome="failed"} 1');
    expect(metrics).toContain("taskjet_worker_run_duration_seconds_bucket");
    expect(metrics).toContain("taskjet_worker_state_runs_pending 0");
    // a fire published ahead of its time (leadMs) waits in the worker, prepared
    const at = new Date(Date.now() + 2_500).toISOString();
    await client.scheduler.queue({
      id: "later",
      name: "later",
      type: "console",
      beginTime: at,
      args: { message: "later" },
    });
    await waitFor(
      async () => (await text(w.port, "/metrics")).body.includes("taskjet_worker_early_fires_held 1"),
      {
        message: "the early fire is held",
      },
    );
    const sm = (await text(s.port, "/metrics")).body;
    expect(sm).toMatch(/taskjet_scheduler_fires_total\{reason="schedule",duplicate="false"\} [1-9]/);
    expect(sm).toContain("taskjet_scheduler_leader 1");
    expect(sm).toMatch(/taskjet_scheduler_epoch [1-9]/);
    for (const port of [s.port, w.port]) {
      expect((await text(port, "/healthz")).status).toBe(200);
      expect((await text(port, "/readyz")).status).toBe(200);
    }
    // NATS down: both say not ready, with the reason
    await nats.kill();
    for (const port of [s.port, w.port]) {
      const r = await waitFor(
        async () => {
          const res = await text(port, "/readyz");
          return res.status === 503 ? res : undefined;
        },
        { message: "not ready without NATS" },
      );
      expect(r.body).toContain("not ready");
    }
    await nats.restart();
    for (const port of [s.port, w.port]) {
      await waitFor(async () => (await text(port, "/readyz")).status === 200, {
        timeoutMs: 20_000,
        message: "ready again",
      });
    }
  });
});
