// taskjet side of the precision benchmark: SCHEDULES period jobs (cron every second), a worker with a no-op
// handler (concurrency CONCURRENCY, events and run log off) in this process, the scheduler in its own
// process; lateness = handler start - nominal fire time, over DURATION_S seconds after WARMUP_S.
import { pino } from "pino";
import { createWorker } from "@taskjet/worker-runtime";
import { FireBook, nextSecond, sleep } from "./lib.mjs";
import { procStat } from "./procstat.mjs";
import { queueInBatches, startStack } from "./stack.mjs";

const schedules = Number(process.env.SCHEDULES ?? 10_000);
const durationS = Number(process.env.DURATION_S ?? 60);
const warmupS = Number(process.env.WARMUP_S ?? 5);
const concurrency = Number(process.env.CONCURRENCY ?? 200);

const stack = await startStack();
let book;
const worker = createWorker({
  logger: pino({ level: "warn" }),
  nats: { servers: [stack.nats.url] },
  prefix: stack.prefix,
  node: "bench",
  concurrency,
  events: false,
  runLog: false,
  // JOB_CACHE_SIZE=0: read each job before every run (the worker's default keeps copies; see docs/worker.md)
  ...(process.env.JOB_CACHE_SIZE ? { jobCacheSize: Number(process.env.JOB_CACHE_SIZE) } : {}),
  // COALESCE_MS: the worker's coalesceStateMs (how often a frequent job's runs are written; default 5 s)
  ...(process.env.COALESCE_MS ? { coalesceStateMs: Number(process.env.COALESCE_MS) } : {}),
});
worker.register("tick", async (ctx) => {
  const start = Date.now();
  book?.record(ctx.args.i, Date.parse(ctx.nominalTime), start);
});
await worker.start();

const setupStart = performance.now();
const jobs = Array.from({ length: schedules }, (_, i) => ({
  id: `s${i}`,
  name: `tick ${i}`,
  type: "tick",
  jobType: "period",
  // CRON: another schedule (the book still expects one fire a second: only lateness means anything then)
  cron: process.env.CRON ?? "* * * * * ?",
  args: { i },
}));
await queueInBatches(stack.client, jobs);
const setupMs = performance.now() - setupStart;

const fromMs = nextSecond(Date.now()) + warmupS * 1000;
book = new FireBook(schedules, fromMs, fromMs + durationS * 1000);
await sleep(fromMs - Date.now());
const schedulerAtStart = procStat(stack.scheduler.pid);
const natsAtStart = procStat(stack.nats.pid);
const workerCpuStart = process.cpuUsage();
await sleep(durationS * 1000);
const schedulerAtEnd = procStat(stack.scheduler.pid);
const natsAtEnd = procStat(stack.nats.pid);
const workerCpu = process.cpuUsage(workerCpuStart);
await sleep(3000); // let the last window's fires land
const result = {
  system: "taskjet",
  schedules,
  durationS,
  setupMs,
  ...book.result(),
  schedulerCpuMs: schedulerAtEnd.cpuMs - schedulerAtStart.cpuMs,
  schedulerRssMb: schedulerAtEnd.rssMb,
  workerCpuMs: (workerCpu.user + workerCpu.system) / 1000,
  workerRssMb: process.memoryUsage().rss / 2 ** 20,
  // live heap after a full GC (node --expose-gc): what the worker holds, not what GC has yet to reclaim
  ...(globalThis.gc
    ? (globalThis.gc(), { workerHeapAfterGcMb: process.memoryUsage().heapUsed / 2 ** 20 })
    : {}),
  natsServerCpuMs: natsAtEnd.cpuMs - natsAtStart.cpuMs,
};
// machine time per run started in the window (µs), by process
const runs = result.seen || 1;
result.cpuUsPerRun = {
  scheduler: (result.schedulerCpuMs * 1000) / runs,
  natsServer: (result.natsServerCpuMs * 1000) / runs,
  worker: (result.workerCpuMs * 1000) / runs,
};
console.log(JSON.stringify(result));
await worker.stop();
await stack.stop();
process.exit(0);
