// taskjet side of the throughput benchmark: JOBS once jobs queued through the client (queueMany, batches of
// 1000), a worker (concurrency CONCURRENCY, no-op handler) in this process, the scheduler in its own process.
// Timed from the first enqueue to the last completion recorded (the worker's store write done).
// TELEMETRY=1 turns per-job events and the run log on. KEEP=1 keeps finished jobs in the store
// (removeOnComplete: false); otherwise each is removed when it finishes (removeOnComplete: true), as BullMQ's
// side does. Prints one JSON line.
import { pino } from "pino";
import { createWorker } from "@taskjet/worker-runtime";
import { procStat } from "./procstat.mjs";
import { queueInBatches, startStack } from "./stack.mjs";

const jobs = Number(process.env.JOBS ?? 20_000);
const concurrency = Number(process.env.CONCURRENCY ?? 100);
const telemetry = process.env.TELEMETRY === "1";
const keep = process.env.KEEP === "1";

const stack = await startStack();
const worker = createWorker({
  logger: pino({ level: "warn" }),
  nats: { servers: [stack.nats.url] },
  prefix: stack.prefix,
  node: "bench",
  concurrency,
  events: telemetry,
  runLog: telemetry,
});
worker.register("noop", async () => undefined);
let done = 0;
let finish;
const finished = new Promise((r) => (finish = r));
worker.events.on("run:success", () => {
  if (++done === jobs) finish(performance.now());
});
await worker.start();

const input = Array.from({ length: jobs }, (_, i) => ({
  id: `j${i}`,
  name: `job ${i}`,
  type: "noop",
  args: { i },
  removeOnComplete: !keep,
}));
const schedulerBefore = procStat(stack.scheduler.pid);
const natsBefore = procStat(stack.nats.pid);
const selfBefore = process.cpuUsage();
const rssStart = process.memoryUsage().rss;
const t0 = performance.now();
await queueInBatches(stack.client, input);
const queuedMs = performance.now() - t0;
const t1 = await finished;
const seconds = (t1 - t0) / 1000;
const schedulerAfter = procStat(stack.scheduler.pid);
const natsAfter = procStat(stack.nats.pid);
const self = process.cpuUsage(selfBefore);
console.log(
  JSON.stringify({
    system: `taskjet${keep ? "-keep" : ""}${telemetry ? "+events+runlog" : ""}`,
    jobs,
    concurrency,
    seconds,
    jobsPerSecond: jobs / seconds,
    queuedMs,
    // CPU per job of each process (µs): what the machine pays, whatever else runs beside the benchmark
    cpuUsPerJob: {
      scheduler: ((schedulerAfter.cpuMs - schedulerBefore.cpuMs) * 1000) / jobs,
      natsServer: ((natsAfter.cpuMs - natsBefore.cpuMs) * 1000) / jobs,
      clientAndWorker: (self.user + self.system) / jobs,
    },
    rssStartMb: rssStart / 2 ** 20,
    rssEndMb: process.memoryUsage().rss / 2 ** 20,
  }),
);
await worker.stop();
await stack.stop();
process.exit(0);
