// End to end: a scheduler, a worker and the SDK against one real nats-server, the way a user runs them,
// plus the raw-NATS example of docs/protocol.md run exactly as written.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobEvent, TaskjetClient } from "@taskjet/client";
import { uniqueName, waitFor, type NatsServerFixture } from "@taskjet/testing";
import { startServices } from "@taskjet/test-stack";

const root = fileURLToPath(new URL("..", import.meta.url));
let nats: NatsServerFixture;
let services: Awaited<ReturnType<typeof startServices>>;
let client: TaskjetClient;
const prefix = uniqueName("e2e");

beforeAll(async () => {
  services = await startServices(prefix);
  ({ nats, client } = services);
});

afterAll(() => services?.stop());

describe("quick start", () => {
  it("a period job fires every second, its runs are counted, and events describe each run", async () => {
    const events: JobEvent[] = [];
    const sub = client.events.on({ jobId: "every-second" }, (e) => {
      events.push(e);
    });
    await sub.ready();
    await client.scheduler.queue({
      id: "every-second",
      name: "every second",
      type: "console",
      jobType: "period",
      cron: "* * * * * ?",
      args: { message: "tick" },
    });
    const job = await waitFor(
      async () => {
        const job = await client.scheduler.get("every-second");
        return job.triggerCount >= 3 ? job : undefined;
      },
      { timeoutMs: 15_000, message: "three runs counted" },
    );
    expect(job.status).toBe("queuing");
    expect(Date.parse(job.nextRunTime!)).toBeGreaterThan(Date.parse(job.lastFireTime!));
    const logs = await client.scheduler.logs("every-second", 50);
    expect(logs.filter((e) => e.outcome === "succeeded").length).toBeGreaterThanOrEqual(3);
    expect(events.some((e) => e.phase === "before")).toBe(true);
    expect(events.some((e) => e.phase === "after" && e.data.status === "queuing")).toBe(true);
    await sub.close();
    await client.scheduler.remove("every-second", { force: true });
    expect(await client.scheduler.exists("every-second")).toBe(false);
  });

  it("docs/examples/raw-client.mjs runs as written", async () => {
    const child = spawn(process.execPath, ["docs/examples/raw-client.mjs"], {
      cwd: root,
      env: { ...process.env, NATS_URL: nats.url, TASKJET_PREFIX: prefix },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(out).toMatch(/queued hello-\d+ \(created: true\)/);
    expect(out).toContain("io.taskjet.job.before");
    expect(out).toMatch(/io\.taskjet\.job\.after: status=completed/);
    expect(out, out).toMatch(/status=completed triggerCount=1/);
    expect(out, out).toMatch(/accepted fast-\d+ \(stream \S+-run, seq \d+\)/);
    expect(out, out).toContain("fast lane after: status=completed");
    expect(code).toBe(0);
  });
});
