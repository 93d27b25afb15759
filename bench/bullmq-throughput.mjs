// BullMQ side of the throughput benchmark: N jobs via Queue.addBulk, Worker concurrency C, no-op processor,
// timed from the first enqueue to the last completion. KEEP=1 keeps finished jobs (BullMQ's default);
// otherwise they are removed (removeOnComplete / removeOnFail: true). Prints one JSON line.
import { Queue, Worker } from "bullmq";

const jobs = Number(process.env.JOBS ?? 20_000);
const concurrency = Number(process.env.CONCURRENCY ?? 100);
const connection = { host: "127.0.0.1", port: 6379, maxRetriesPerRequest: null };
const name = `bench-${Date.now()}`;
const keep = process.env.KEEP === "1";
const removal = keep ? {} : { removeOnComplete: true, removeOnFail: true };

const queue = new Queue(name, { connection });
await queue.waitUntilReady();
let done = 0;
let finish;
const finished = new Promise((r) => (finish = r));
const worker = new Worker(name, async () => undefined, { connection, concurrency, autorun: false });
worker.on("completed", () => {
  if (++done === jobs) finish(performance.now());
});
const rssStart = process.memoryUsage().rss;
const t0 = performance.now();
void worker.run();
for (let i = 0; i < jobs; i += 1000) {
  const batch = [];
  for (let j = i; j < Math.min(jobs, i + 1000); j++) {
    batch.push({ name: "noop", data: { i: j }, opts: removal });
  }
  await queue.addBulk(batch);
}
const t1 = await finished;
const seconds = (t1 - t0) / 1000;
console.log(
  JSON.stringify({
    system: keep ? "bullmq-keep" : "bullmq",
    jobs,
    concurrency,
    seconds,
    jobsPerSecond: jobs / seconds,
    rssStartMb: rssStart / 2 ** 20,
    rssEndMb: process.memoryUsage().rss / 2 ** 20,
  }),
);
await worker.close();
await queue.obliterate({ force: true });
await queue.close();
