/**
 * OpenTelemetry traces from queue to run across processes (issue 16). The scheduler and the worker run as
 * their own processes (dist/main.js) with an SDK loaded by `node --import` (fixtures/otel-file-export.mjs,
 * as an application turns tracing on) that appends each span to a file; this process is the producer, with
 * the SDK's in-memory exporter. A once job that fails once is one trace: producer -> taskjet.queue
 * (scheduler) -> taskjet.fire -> taskjet.run (worker, failed), and taskjet.queue -> taskjet.retry ->
 * taskjet.run (succeeded). A recurring job's fires start new traces linked to its queue span. A fast-lane
 * job (SDK, gateway, CLI with TRACEPARENT) has no scheduler span: its run's parent is the producer's span.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { context, propagation, trace, type Span } from "@opentelemetry/api";
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-node";
import { createClient, type TaskjetClient } from "@taskjet/client";
import { buildApp } from "@taskjet/gateway";
import { connectTo, startNats, uniqueName, waitFor, type NatsServerFixture } from "@taskjet/testing";

const root = fileURLToPath(new URL("..", import.meta.url));
const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));

interface SpanLine {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  links: { traceId: string; spanId: string }[];
  attributes: Record<string, unknown>;
  status: number;
}

const memory = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
let nats: NatsServerFixture;
let client: TaskjetClient;
let dir: string;
const children: ChildProcess[] = [];
const prefix = uniqueName("tr");

function service(
  name: string,
  args: string[],
  env: Record<string, string>,
  setup = fixture("otel-file-export.mjs"),
): void {
  let out = "";
  const child = spawn(process.execPath, ["--import", setup, ...args], {
    cwd: root,
    env: {
      ...process.env,
      NATS_URL: nats.url,
      TASKJET_PREFIX: prefix,
      TASKJET_TEST_SPANS_FILE: join(dir, "spans.jsonl"),
      TASKJET_TEST_SERVICE: name,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  child.stderr!.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  child.once("exit", (code) => {
    if (code) console.error(`tracing.test: ${name} exited ${code}: ${out}`);
  });
  children.push(child);
}

const allSpans = (): SpanLine[] => {
  const file = join(dir, "spans.jsonl");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SpanLine);
};
const spansOf = (jobId: string): SpanLine[] =>
  allSpans().filter((s) => s.attributes["taskjet.job.id"] === jobId);

/** Runs the built CLI with the tracing SDK loaded (as a traced shell script would), `input` on stdin. */
function cli(
  args: string[],
  env: Record<string, string>,
  input: string,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", fixture("otel-file-export.mjs"), "services/cli/dist/main.js", ...args],
      {
        cwd: root,
        env: {
          ...process.env,
          NATS_URL: nats.url,
          TASKJET_PREFIX: prefix,
          TASKJET_TEST_SPANS_FILE: join(dir, "spans.jsonl"),
          TASKJET_TEST_SERVICE: "cli",
          ...env,
        },
      },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
    child.stdin.end(input);
  });
}

beforeAll(async () => {
  for (const dist of [
    "services/scheduler/dist/main.js",
    "services/worker/dist/main.js",
    "services/cli/dist/main.js",
  ])
    if (!existsSync(join(root, dist))) throw new Error(`${dist} is missing: run npm run build first`);
  provider.register();
  dir = mkdtempSync(join(tmpdir(), "taskjet-tracing-"));
  nats = await startNats();
  service("scheduler", ["services/scheduler/dist/main.js"], { TASKJET_REPLICA_ID: "traced" });
  service(
    "worker",
    ["services/worker/dist/main.js", "--node", "n1", "--handlers", fixture("flaky-handlers.mjs")],
    { TASKJET_BUILTINS: "0", TASKJET_IDLE_POLL_MS: "1000" },
  );
  client = createClient(await connectTo(nats.url), { prefix, tenant: "default" });
  await waitFor(() => client.scheduler.status().then((s) => s.leader !== undefined && s.workers.length > 0), {
    timeoutMs: 30_000,
    message: "a leading scheduler and a worker",
  });
}, 90_000);

afterAll(async () => {
  for (const c of children) c.kill("SIGTERM");
  await client?.close();
  await nats?.stop();
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("tracing across processes", () => {
  /** Queues a `flaky` job (fails once) inside a producer span and waits until its retry completed it. */
  async function queueFlakyUnderProducer(c: TaskjetClient, id: string): Promise<Span> {
    const producer = trace.getTracer("test").startSpan("producer");
    await context.with(trace.setSpan(context.active(), producer), () =>
      c.scheduler.queue({ id, name: id, type: "flaky", nodeName: "n1", maxTryCount: 3 }),
    );
    producer.end();
    await waitFor(async () => (await client.scheduler.get(id)).status === "completed", {
      timeoutMs: 30_000,
      message: "the job completed on its retry",
    });
    return producer;
  }

  it("a once job queued through the scheduler that fails once is one trace: producer > queue > fire > run (failed), queue > retry > run", async () => {
    const id = uniqueName("traced");
    const viaScheduler = createClient(client.nc, { prefix, tenant: "default", fastLane: false });
    const producer = await queueFlakyUnderProducer(viaScheduler, id);
    const byName = await waitFor(
      () => {
        const spans = spansOf(id);
        const n = (name: string) => spans.filter((s) => s.name === name);
        return n("taskjet.queue").length === 1 &&
          n("taskjet.fire").length === 1 &&
          n("taskjet.retry").length === 1 &&
          n("taskjet.run").length === 2
          ? n
          : undefined;
      },
      { timeoutMs: 15_000, message: `spans of ${id}: ${JSON.stringify(spansOf(id).map((s) => s.name))}` },
    );
    const p = producer.spanContext();
    expect(memory.getFinishedSpans().map((s) => s.name)).toContain("producer");
    const [queue] = byName("taskjet.queue");
    const [fire] = byName("taskjet.fire");
    const [retry] = byName("taskjet.retry");
    const runs = byName("taskjet.run").sort(
      (a, b) => Number(a.attributes["taskjet.fire.attempt"]) - Number(b.attributes["taskjet.fire.attempt"]),
    );
    for (const s of [queue!, fire!, retry!, ...runs]) expect(s.traceId, s.name).toBe(p.traceId);
    expect(queue).toMatchObject({ service: "scheduler", parentSpanId: p.spanId });
    expect(fire).toMatchObject({ service: "scheduler", parentSpanId: queue!.spanId });
    expect(retry).toMatchObject({ service: "scheduler", parentSpanId: queue!.spanId });
    expect(runs[0]).toMatchObject({ service: "worker", parentSpanId: fire!.spanId, status: 2 });
    expect(runs[0]!.attributes).toMatchObject({ "taskjet.fire.attempt": 1, "taskjet.run.outcome": "failed" });
    expect(runs[1]).toMatchObject({ service: "worker", parentSpanId: retry!.spanId });
    expect(runs[1]!.status).not.toBe(2);
    expect(runs[1]!.attributes).toMatchObject({
      "taskjet.fire.attempt": 2,
      "taskjet.run.outcome": "succeeded",
      "taskjet.job.type": "flaky",
      "taskjet.tenant": "default",
    });
  });

  it("a fast-lane job that fails once is one trace: producer > run (failed), producer > retry > run", async () => {
    const id = uniqueName("fast");
    const producer = await queueFlakyUnderProducer(client, id);
    const byName = await waitFor(
      () => {
        const spans = spansOf(id);
        const n = (name: string) => spans.filter((s) => s.name === name);
        return n("taskjet.retry").length === 1 && n("taskjet.run").length === 2 ? n : undefined;
      },
      { timeoutMs: 15_000, message: `spans of ${id}: ${JSON.stringify(spansOf(id).map((s) => s.name))}` },
    );
    const p = producer.spanContext();
    // no scheduler span for its acceptance and first run: the scheduler never saw it
    expect(byName("taskjet.queue")).toEqual([]);
    expect(byName("taskjet.fire")).toEqual([]);
    const [retry] = byName("taskjet.retry");
    const runs = byName("taskjet.run").sort(
      (a, b) => Number(a.attributes["taskjet.fire.attempt"]) - Number(b.attributes["taskjet.fire.attempt"]),
    );
    for (const s of [retry!, ...runs]) expect(s.traceId, s.name).toBe(p.traceId);
    expect(runs[0]).toMatchObject({ service: "worker", parentSpanId: p.spanId, status: 2 });
    expect(retry).toMatchObject({ service: "scheduler", parentSpanId: p.spanId });
    expect(runs[1]).toMatchObject({ service: "worker", parentSpanId: retry!.spanId });
  });

  it("a recurring job's fires each start a new trace, linked to the job's queue span", async () => {
    const id = uniqueName("every");
    const producer = trace.getTracer("test").startSpan("producer");
    await context.with(trace.setSpan(context.active(), producer), () =>
      client.scheduler.queue({
        id,
        name: id,
        type: "flaky",
        nodeName: "n1",
        jobType: "persistent",
        intervalSeconds: 1,
        maxCount: 2,
      }),
    );
    producer.end();
    const spans = await waitFor(
      () => {
        const s = spansOf(id);
        return s.filter((x) => x.name === "taskjet.fire").length === 2 &&
          s.filter((x) => x.name === "taskjet.run").length === 2
          ? s
          : undefined;
      },
      { timeoutMs: 20_000, message: "two fires and their runs" },
    );
    const queue = spans.find((s) => s.name === "taskjet.queue")!;
    expect(queue.traceId).toBe(producer.spanContext().traceId);
    const fires = spans.filter((s) => s.name === "taskjet.fire");
    expect(new Set(fires.map((f) => f.traceId)).size).toBe(2);
    for (const f of fires) {
      expect(f.traceId).not.toBe(queue.traceId);
      expect(f.parentSpanId).toBeUndefined();
      expect(f.links).toEqual([{ traceId: queue.traceId, spanId: queue.spanId }]);
      const run = spans.find((s) => s.name === "taskjet.run" && s.parentSpanId === f.spanId);
      expect(run?.traceId, "the run is in its fire's trace").toBe(f.traceId);
    }
  });

  it("the docs' example (docs/examples/tracing/otel.mjs) exports a service's spans over OTLP/HTTP", async () => {
    const bodies: string[] = [];
    const collector = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString("latin1")));
      req.on("end", () => {
        if (req.url === "/v1/traces") bodies.push(body);
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((r) => collector.listen(0, "127.0.0.1", r));
    try {
      const port = (collector.address() as AddressInfo).port;
      service(
        "worker-otlp",
        ["services/worker/dist/main.js", "--node", "n2", "--handlers", fixture("flaky-handlers.mjs")],
        {
          TASKJET_BUILTINS: "0",
          OTEL_SERVICE_NAME: "taskjet-worker-n2",
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
          OTEL_BSP_SCHEDULE_DELAY: "200",
        },
        join(root, "docs/examples/tracing/otel.mjs"),
      );
      const id = uniqueName("otlp");
      await waitFor(async () => (await client.scheduler.status()).workers.some((w) => w.node === "n2"), {
        timeoutMs: 20_000,
        message: "the worker of n2 heartbeats",
      });
      await client.scheduler.queue({ id, name: id, type: "flaky", nodeName: "n2", maxTryCount: 3 });
      await waitFor(() => bodies.some((b) => b.includes("taskjet.run") && b.includes(id)), {
        timeoutMs: 30_000,
        message: "the collector received the worker's run spans",
      });
      expect(bodies.some((b) => b.includes("taskjet-worker-n2"))).toBe(true);
    } finally {
      await new Promise((r) => collector.close(r));
    }
  });

  /** POST /v1/jobs through a gateway app with a traceparent header; the response must be 201. */
  async function postTraced(
    payload: Record<string, unknown>,
    traceId: string,
    parentId: string,
  ): Promise<void> {
    const app = buildApp({ client, settings: { tokens: ["tracing-token"], bodyLimitBytes: 1 << 20 } });
    try {
      const r = await app.inject({
        method: "POST",
        url: "/v1/jobs",
        headers: { authorization: "Bearer tracing-token", traceparent: `00-${traceId}-${parentId}-01` },
        payload,
      });
      expect(r.statusCode, r.body).toBe(201);
    } finally {
      await app.close();
    }
  }

  it("a gateway request's traceparent header is the parent of the job's queue span", async () => {
    const id = uniqueName("gw");
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parentId = "00f067aa0ba902b7";
    await postTraced(
      { id, name: id, type: "flaky", nodeName: "n1", beginTime: "2099-01-01T00:00:00Z" },
      traceId,
      parentId,
    );
    const queue = await waitFor(() => spansOf(id).find((s) => s.name === "taskjet.queue"), {
      timeoutMs: 10_000,
      message: "the queue span",
    });
    expect(queue).toMatchObject({ traceId, parentSpanId: parentId });
  });

  it("a gateway request with no delay (the fast lane): its traceparent header is the parent of the run span", async () => {
    const id = uniqueName("gwfast");
    const traceId = "5bf92f3577b34da6a3ce929d0e0e4737";
    const parentId = "10f067aa0ba902b8";
    await postTraced({ id, name: id, type: "ok", nodeName: "n1" }, traceId, parentId);
    const run = await waitFor(() => spansOf(id).find((s) => s.name === "taskjet.run"), {
      timeoutMs: 15_000,
      message: "the run span",
    });
    expect(run).toMatchObject({ service: "worker", traceId, parentSpanId: parentId });
    expect(spansOf(id).filter((s) => s.name === "taskjet.queue" || s.name === "taskjet.fire")).toEqual([]);
  });

  it("a job's action is a taskjet.action span under its run", async () => {
    const id = uniqueName("act");
    // a publish action sends the job through the scheduler (it knows the allowed subjects)
    await client.scheduler.queue({
      id,
      name: id,
      type: "ok",
      nodeName: "n1",
      actions: [{ kind: "publish", on: ["completed"], subject: `${prefix}.evt.default.traced` }],
    });
    const run = await waitFor(() => spansOf(id).find((s) => s.name === "taskjet.run"), {
      timeoutMs: 15_000,
      message: "the run span",
    });
    const action = await waitFor(
      () => allSpans().find((s) => s.name === "taskjet.action" && s.parentSpanId === run.spanId),
      { timeoutMs: 10_000, message: "the action span under the run" },
    );
    expect(action).toMatchObject({ service: "worker", traceId: run.traceId });
    expect(action.attributes).toMatchObject({
      "taskjet.action.kind": "publish",
      "taskjet.action.trigger": "completed",
      "taskjet.fire.id": run.attributes["taskjet.fire.id"],
    });
    expect(action.status).not.toBe(2);
  });

  it("the CLI with TRACEPARENT: the job's run (fast lane) and queue span (scheduler lane) have that parent", async () => {
    const traceId = "6bf92f3577b34da6a3ce929d0e0e4738";
    const parentId = "20f067aa0ba902b9";
    const env = { TRACEPARENT: `00-${traceId}-${parentId}-01` };
    const fast = uniqueName("clifast");
    const later = uniqueName("clilater");
    const jobs = [
      { id: fast, name: fast, type: "ok", nodeName: "n1" },
      { id: later, name: later, type: "ok", nodeName: "n1", beginTime: "2099-01-01T00:00:00Z" },
    ];
    const r = await cli(["queue", "-"], env, JSON.stringify(jobs));
    expect(r.code, r.out).toBe(0);
    const run = await waitFor(() => spansOf(fast).find((s) => s.name === "taskjet.run"), {
      timeoutMs: 15_000,
      message: "the fast-lane job's run span",
    });
    expect(run).toMatchObject({ service: "worker", traceId, parentSpanId: parentId });
    const queue = await waitFor(() => spansOf(later).find((s) => s.name === "taskjet.queue"), {
      timeoutMs: 10_000,
      message: "the delayed job's queue span",
    });
    expect(queue).toMatchObject({ service: "scheduler", traceId, parentSpanId: parentId });
  });
});
