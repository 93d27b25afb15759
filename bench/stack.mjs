// Starts what a taskjet benchmark needs: a fresh nats-server (temp dir, random port) and a scheduler process.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startNats, uniqueName, waitFor } from "@taskjet/testing";
import { TaskjetClient } from "@taskjet/client";

const root = fileURLToPath(new URL("..", import.meta.url));

export async function startStack({ schedulerEnv = {} } = {}) {
  const nats = await startNats();
  const prefix = uniqueName("bench");
  const env = {
    ...process.env,
    NATS_URL: nats.url,
    TASKJET_PREFIX: prefix,
    TASKJET_LOG_LEVEL: "warn",
    ...schedulerEnv,
    // as the Dockerfile runs it (SCHED_NODE_OPTIONS="" for node's defaults)
    NODE_OPTIONS: process.env.SCHED_NODE_OPTIONS ?? "--max-semi-space-size=64",
  };
  let schedulerLog = "";
  const startScheduler = () => {
    // PROF=<dir> writes a CPU profile of the scheduler process there (open it in Chrome DevTools)
    const prof = process.env.PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.PROF}`] : [];
    const p = spawn(process.execPath, [...prof, "services/scheduler/dist/main.js"], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    p.stdout.on("data", (d) => (schedulerLog = (schedulerLog + d).slice(-20_000)));
    p.stderr.on("data", (d) => (schedulerLog = (schedulerLog + d).slice(-20_000)));
    return p;
  };
  let scheduler = startScheduler();
  // a benchmark stopped by a signal (a timeout) must not leave its scheduler running and skewing the next one
  for (const sig of ["SIGINT", "SIGTERM"]) {
    process.once(sig, () => {
      scheduler.kill("SIGKILL");
      process.exit(130); // runs the exit hooks, which kill the nats-server child
    });
  }
  const client = await TaskjetClient.connect({ servers: [nats.url], prefix, requestTimeoutMs: 60_000 });
  await waitFor(async () => (await client.scheduler.status().catch(() => undefined))?.leader, {
    timeoutMs: 60_000,
    message: "a scheduler leads",
  });
  return {
    nats,
    prefix,
    client,
    get scheduler() {
      return scheduler;
    },
    log: () => schedulerLog,
    async restartScheduler() {
      await stopProcess(scheduler);
      scheduler = startScheduler();
      return scheduler;
    },
    async stop() {
      await client.close().catch(() => undefined);
      await stopProcess(scheduler);
      await nats.stop();
    },
  };
}

export async function stopProcess(p) {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once("exit", r));
  p.kill("SIGTERM");
  const timer = setTimeout(() => p.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Queues jobs through the client (its queueMany splits them into pipelined requests). */
export async function queueInBatches(client, jobs) {
  await client.scheduler.queueMany(jobs);
}
