// BullMQ side of the precision benchmark: SCHEDULES job schedulers (upsertJobScheduler, every second),
// one Worker (concurrency CONCURRENCY) with a no-op processor; lateness = processor start - nominal time
// (the scheduler's prevMillis), over DURATION_S seconds after WARMUP_S. Prints one JSON line.
import { Queue, Worker } from "bullmq";
import { FireBook, nextSecond, sleep } from "./lib.mjs";

const schedules = Number(process.env.SCHEDULES ?? 10_000);
const durationS = Number(process.env.DURATION_S ?? 60);
const warmupS = Number(process.env.WARMUP_S ?? 5);
const concurrency = Number(process.env.CONCURRENCY ?? 200);
const connection = { host: "127.0.0.1", port: 6379, maxRetriesPerRequest: null };
const name = `prec-${Date.now()}`;

const queue = new Queue(name, { connection });
await queue.waitUntilReady();
const setupStart = performance.now();
for (let i = 0; i < schedules; i += 500) {
  const batch = [];
  for (let j = i; j < Math.min(schedules, i + 500); j++) {
    batch.push(
      queue.upsertJobScheduler(
        `s${j}`,
        { pattern: "* * * * * *" },
        {
          name: "tick",
          data: { i: j },
          opts: { removeOnComplete: true, removeOnFail: true },
        },
      ),
    );
  }
  await Promise.all(batch);
}
const setupMs = performance.now() - setupStart;
const fromMs = nextSecond(Date.now()) + warmupS * 1000;
const book = new FireBook(schedules, fromMs, fromMs + durationS * 1000);
const worker = new Worker(
  name,
  async (job) => {
    const start = Date.now();
    book.record(job.data.i, Number(job.opts.prevMillis), start);
  },
  { connection, concurrency },
);
await sleep(fromMs + durationS * 1000 + 3000 - Date.now());
const cpu = process.cpuUsage();
console.log(
  JSON.stringify({
    system: "bullmq",
    schedules,
    durationS,
    setupMs,
    ...book.result(),
    cpuUserMs: cpu.user / 1000,
    rssMb: process.memoryUsage().rss / 2 ** 20,
  }),
);
// graceful: a forced close leaves in-flight processors adding their next iteration on a closed connection
await worker.close();
await queue.obliterate({ force: true }).catch(() => undefined);
await queue.close();
process.exit(0);
