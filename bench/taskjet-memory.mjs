// Worker memory over a long run: JOBS once jobs through the client and the scheduler, a worker
// (concurrency 100, no-op handler, events and run log on) in a child-free setup; RSS of this process
// (client + worker) sampled at every tenth of the run, after a GC when --expose-gc is given.
import { pino } from "pino";
import { createWorker } from "@taskjet/worker-runtime";
import { queueInBatches, startStack } from "./stack.mjs";

const jobs = Number(process.env.JOBS ?? 1_000_000);
const concurrency = Number(process.env.CONCURRENCY ?? 100);
const stack = await startStack();
const worker = createWorker({
  logger: pino({ level: "warn" }),
  nats: { servers: [stack.nats.url] },
  prefix: stack.prefix,
  node: "bench",
  concurrency,
});
worker.register("noop", async () => undefined);
const samples = [];
const rss = () => {
  globalThis.gc?.();
  return Math.round(process.memoryUsage().rss / 2 ** 20);
};
let done = 0;
let finish;
const finished = new Promise((r) => (finish = r));
worker.events.on("run:success", () => {
  done++;
  if (done % Math.ceil(jobs / 10) === 0) {
    samples.push({ done, rssMb: rss() });
    console.error(JSON.stringify(samples.at(-1)));
  }
  if (done === jobs) finish();
});
await worker.start();
const rssStartMb = rss();
const t0 = performance.now();
// queue in slices so the store never holds more than a few slices of pending jobs
const slice = 20_000;
for (let i = 0; i < jobs; i += slice) {
  const batch = Array.from({ length: Math.min(slice, jobs - i) }, (_, k) => ({
    name: "m",
    type: "noop",
    args: { i: i + k },
  }));
  await queueInBatches(stack.client, batch);
  while (done < i - slice) await new Promise((r) => setTimeout(r, 50));
}
await finished;
console.log(
  JSON.stringify({
    system: "taskjet",
    jobs,
    seconds: (performance.now() - t0) / 1000,
    rssStartMb,
    rssEndMb: rss(),
    samples,
  }),
);
await worker.stop();
await stack.stop();
process.exit(0);
