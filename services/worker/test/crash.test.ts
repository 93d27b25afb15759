/**
 * The worker as a process: `node dist/main.js` (built by `turbo run build`; built here if missing).
 * A worker SIGKILLed mid-run loses nothing: its fire is redelivered after the ack wait and completes on
 * another worker, and the run log shows both attempts. SIGTERM stops a worker gracefully.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { startNats, waitFor, type NatsServerFixture } from "@taskjet/testing";
import { WorkerService } from "@taskjet/worker";
import { ServiceTestEnv } from "./helpers.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const main = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const hangModule = fileURLToPath(new URL("./fixtures/hang-handlers.mjs", import.meta.url));

let server: NatsServerFixture;
let env: ServiceTestEnv;
const children: ChildProcess[] = [];
beforeAll(async () => {
  if (!existsSync(main)) {
    const r = spawnSync("npx", ["turbo", "run", "build", "--filter=@taskjet/worker..."], {
      cwd: root,
      stdio: "inherit",
    });
    if (r.status !== 0) throw new Error("building @taskjet/worker failed");
  }
  server = await startNats();
  env = await new ServiceTestEnv(server).init();
}, 180_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  await env?.close();
  await server?.stop();
});

function startChild(
  node: string,
  extraEnv: Record<string, string> = {},
): { child: ChildProcess; output: () => string } {
  let output = "";
  const child = spawn(
    process.execPath,
    [main, "--node", node, "--handlers", hangModule, "--concurrency", "2"],
    {
      env: {
        ...process.env,
        NATS_URL: server.url,
        TASKJET_PREFIX: env.ns.prefix,
        TASKJET_ACK_WAIT_MS: "3000",
        TASKJET_IDLE_POLL_MS: "1000",
        TASKJET_LOG_LEVEL: "info",
        ...extraEnv,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  children.push(child);
  return { child, output: () => output };
}

const exited = (c: ChildProcess) =>
  new Promise<number | null>((r) =>
    c.exitCode !== null ? r(c.exitCode) : c.once("exit", (code) => r(code)),
  );

describe("worker process", () => {
  it("SIGKILL mid-run: the fire is redelivered to another worker after the ack wait and completes; the run log shows both attempts", async () => {
    const { child, output } = startChild("crash");
    const def = await env.job({ type: "crashy", nodeName: "crash" });
    const fire = await env.fire(def);
    // the child logs the start of the run in the run log before the handler runs
    const first = await waitFor(async () => (await env.runLog(def)).find((e) => e.outcome === "started"), {
      message: `child started the run (output: ${output()})`,
      timeoutMs: 20_000,
    });
    child.kill("SIGKILL");
    await exited(child);

    const survivor = new WorkerService({
      nats: { servers: [server.url], prefix: env.ns.prefix },
      node: "crash",
      ackWaitMs: 3000, // the consumer's ack wait is shared: a different value here would apply to the lost fire too
      logger: pino({ level: "silent" }),
      idlePollMs: 1000,
      handlers: { crashy: async (ctx) => ({ completedBy: "survivor", delivery: ctx.delivery }) },
    });
    try {
      await survivor.start();
      const job = await env.waitRecord(
        def,
        (j) => j.state.status === "completed",
        "redelivered fire completed",
        20_000,
      );
      expect(job.state.result).toMatchObject({ completedBy: "survivor" });
      expect((job.state.result as { delivery: number }).delivery).toBeGreaterThanOrEqual(2);
      const log = await waitFor(
        async () => {
          const l = await env.runLog(def);
          return l.length >= 3 ? l : undefined;
        },
        { message: "three run-log entries" },
      );
      expect(log.map((e) => e.outcome)).toEqual(["started", "started", "succeeded"]);
      expect(log.every((e) => e.fireId === fire.fireId && e.attempt === 1)).toBe(true);
      expect(log[0]!.worker).toBe(first.worker);
      expect(log[1]!.worker).toBe(survivor.worker.workerId);
      expect(log[0]!.worker).not.toBe(log[1]!.worker);
      expect(log[1]!.delivery).toBeGreaterThan(log[0]!.delivery!);
    } finally {
      await survivor.stop();
    }
  });

  it("SIGTERM stops the process gracefully (exit 0) and hands an unfinished run back", async () => {
    const { child, output } = startChild("term", { TASKJET_SHUTDOWN_GRACE_MS: "300" });
    const def = await env.job({ type: "crashy", nodeName: "term" });
    await env.fire(def);
    await waitFor(async () => (await env.runLog(def)).some((e) => e.outcome === "started"), {
      message: `child started the run (output: ${output()})`,
      timeoutMs: 20_000,
    });
    child.kill("SIGTERM");
    expect(await exited(child)).toBe(0);
    expect(output()).toMatch(/stopping gracefully/);
    const log = await waitFor(
      async () => {
        const l = await env.runLog(def);
        return l.length >= 2 ? l : undefined;
      },
      { message: "aborted entry" },
    );
    expect(log[1]).toMatchObject({ outcome: "aborted", reason: "shutdown" });
    // handed back (nak): available again right away, not after the 3 s ack wait
    const consumer = await env.js.consumers.get(
      env.ns.streams.run,
      env.ns.runConsumer("term", "crashy", 3).name,
    );
    const t0 = Date.now();
    const m = await consumer.next({ expires: 2000 });
    expect(m).not.toBeNull();
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(m!.info.deliveryCount).toBe(2);
    m!.ack();
  });

  it("--help prints usage; a bad flag exits 2", () => {
    const help = spawnSync(process.execPath, [main, "--help"], { encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/usage: taskjet-worker/);
    const bad = spawnSync(process.execPath, [main, "--concurrency", "lots"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/concurrency must be a whole number/);
    // a whole number the options refuse: the same clean exit, naming the option
    const negative = spawnSync(process.execPath, [main], {
      encoding: "utf8",
      env: { ...process.env, TASKJET_JOB_CACHE_SIZE: "-5" },
    });
    expect(negative.status).toBe(2);
    expect(negative.stderr).toMatch(/^error INVALID_ARGUMENT \(jobCacheSize\): /);
  });
});
