// The worker process of the soak (taskjet-soak.mjs): a worker with the default settings (events and run log
// on) and two handlers. Its bookkeeping is allocated up front (bitsets sized for the whole soak), so its RSS
// shows the worker's own growth, not the benchmark's:
//   tick  period jobs, args {i}: lateness (handler start - nominal) and each (job, second) seen once
//   work  once jobs, args {i, fail}: fail 0 succeeds; 1 fails its first attempt and succeeds on the retry;
//         2 fails every attempt (dead-lettered after maxTryCount)
// Every SAMPLE_MS it prints one JSON line `{"sample": ...}`; on stdin `report <queued>` it prints the final
// `{"report": ...}` (lost and duplicate counts over the first <queued> once jobs) and exits.
import { createInterface } from "node:readline";
import { pino } from "pino";
import { createWorker } from "@taskjet/worker-runtime";
import { summarize } from "./lib.mjs";

const env = (k, d) => Number(process.env[k] ?? d);
const schedules = env("SCHEDULES", 1000);
const seconds = env("SECONDS", 1800) + 600; // room for the warm-up and the drain
const maxOnce = env("MAX_ONCE", 10_000_000);
const sampleMs = env("SAMPLE_MS", 10_000);
const fromMs = env("FROM_MS", Date.now());

const ticks = new Uint8Array(schedules * seconds);
/** per once job: 0 not seen; 1 succeeded; 2 given up (its last attempt failed); 3+ succeeded again */
const once = new Uint8Array(maxOnce);
let lateness = [];
let counts = { ticks: 0, tickDuplicates: 0, succeeded: 0, failedAttempts: 0, gaveUp: 0, onceDuplicates: 0 };

const worker = createWorker({
  logger: pino({ level: "warn" }),
  nats: { servers: [process.env.NATS_URL] },
  prefix: process.env.TASKJET_PREFIX,
  node: "soak",
  concurrency: env("CONCURRENCY", 100),
});
worker.register("tick", async (ctx) => {
  const start = Date.now();
  const nominal = Date.parse(ctx.nominalTime);
  const second = Math.floor((nominal - fromMs) / 1000);
  if (second < 0 || second >= seconds) return;
  const slot = ctx.args.i * seconds + second;
  if (ticks[slot]) counts.tickDuplicates++;
  else {
    ticks[slot] = 1;
    counts.ticks++;
    lateness.push(start - nominal);
  }
});
worker.register("work", async (ctx) => {
  const { i, fail } = ctx.args;
  if (fail === 2 || (fail === 1 && ctx.attempt === 1)) {
    counts.failedAttempts++;
    if (fail === 2 && ctx.attempt >= ctx.job.maxTryCount) {
      once[i] = 2;
      counts.gaveUp++;
    }
    throw new Error(`soak: planned failure of ${i}, attempt ${ctx.attempt}`);
  }
  if (once[i] === 1) counts.onceDuplicates++;
  else counts.succeeded++;
  once[i] = 1;
});
await worker.start();

setInterval(() => {
  const window = summarize(lateness);
  lateness = [];
  const mem = process.memoryUsage();
  console.log(
    JSON.stringify({ sample: { atMs: Date.now(), ...counts, late: window, rssMb: mem.rss / 2 ** 20 } }),
  );
}, sampleMs).unref();

createInterface({ input: process.stdin }).on("line", async (line) => {
  const m = /^report (\d+) (\d+) (\d+)$/.exec(line.trim());
  if (!m) return;
  const [queued, tickFrom, tickTo] = [Number(m[1]), Number(m[2]), Number(m[3])];
  let lost = 0;
  for (let i = 0; i < queued; i++) if (once[i] === 0) lost++;
  // period fires missed inside [tickFrom, tickTo) (ms, whole seconds after fromMs)
  let missedTicks = 0;
  const s0 = Math.floor((tickFrom - fromMs) / 1000);
  const s1 = Math.floor((tickTo - fromMs) / 1000);
  for (let j = 0; j < schedules; j++)
    for (let s = s0; s < s1; s++) if (!ticks[j * seconds + s]) missedTicks++;
  await worker.stop();
  console.log(JSON.stringify({ report: { ...counts, lost, missedTicks } }));
  process.exit(0);
});
