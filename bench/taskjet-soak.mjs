// Soak (issue 12): SOAK_MINUTES (default 30) of steady mixed load on one nats-server, a scheduler process and
// a worker process (soak-worker.mjs, default settings: events and run log on):
//   - SCHEDULES (1,000) period jobs firing every second;
//   - ONCE_RATE once jobs a second (default 500: half of this mix's capacity here; at 1,000 a second nats-server
//     saturated after 15 minutes and retention fell behind, bench/RESULTS.md, eighth session),
//     queued through the client in batches every 100 ms; 5 % fail their first attempt and succeed on the
//     retry, 0.2 % fail every attempt (maxTryCount 2) and are dead-lettered;
//   - the defaults for retention, the run log and dead letters (finite: what an operator gets).
// Run it on nats-server 2.9.15+ (`npm run nats:fetch`, then PATH=$PWD/.cache/nats-server:$PATH): before
// 2.9.15 a removed job's delete marker cannot be purged safely and stays in the bucket's stream.
// Every SAMPLE_MS (10 s) it records each process's RSS, the scheduler's V8 heap (used and total, scraped from
// its /metrics: is RSS growth a leak or the heap's sizing?), the job bucket's and the streams' sizes and the
// period fires' lateness; at the end the once jobs are drained and counted: lost (accepted, never finished)
// and duplicate runs. Writes bench/out/soak-<time>.jsonl (one sample a line) and prints one summary line;
// `node bench/plot-soak.mjs <file>` draws bench/soak.png from the samples.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { mkdirSync, writeFileSync, appendFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { jetstreamManager } from "@nats-io/jetstream";
import { namespace } from "@taskjet/protocol";
import { waitFor } from "@taskjet/testing";
import { nextSecond, sleep } from "./lib.mjs";
import { procStat } from "./procstat.mjs";
import { startStack, stopProcess } from "./stack.mjs";

const env = (k, d) => Number(process.env[k] ?? d);
const minutes = env("SOAK_MINUTES", 30);
const schedules = env("SCHEDULES", 1000);
const onceRate = env("ONCE_RATE", 500);
const sampleMs = env("SAMPLE_MS", 10_000);
const here = fileURLToPath(new URL(".", import.meta.url));

// the scheduler serves /metrics on a free port: its heap figures come from there
const metricsPort = await new Promise((resolve) => {
  const srv = createServer().listen(0, "127.0.0.1", () => {
    const { port } = srv.address();
    srv.close(() => resolve(port));
  });
});
const stack = await startStack({ schedulerEnv: { TASKJET_METRICS_PORT: String(metricsPort) } });
const schedulerHeapMb = async () => {
  const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
    .then((r) => r.text())
    .catch(() => "");
  const mb = (name) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN) / 2 ** 20;
  return { used: mb("nodejs_heap_size_used_bytes"), total: mb("nodejs_heap_size_total_bytes") };
};
const ns = namespace(stack.prefix);
const fromMs = nextSecond(Date.now()) + 5_000;
const seconds = minutes * 60;
const worker = spawn(process.execPath, ["--max-semi-space-size=64", `${here}soak-worker.mjs`], {
  env: {
    ...process.env,
    NATS_URL: stack.nats.url,
    TASKJET_PREFIX: stack.prefix,
    SCHEDULES: String(schedules),
    SECONDS: String(seconds),
    MAX_ONCE: String(Math.ceil(onceRate * (seconds + 120) * 1.1)),
    SAMPLE_MS: String(sampleMs),
    FROM_MS: String(fromMs),
  },
  stdio: ["pipe", "pipe", "inherit"],
});
let lastWorkerSample;
let report;
createInterface({ input: worker.stdout }).on("line", (line) => {
  if (!line.startsWith("{")) return;
  const m = JSON.parse(line);
  if (m.sample) lastWorkerSample = m.sample;
  if (m.report) report = m.report;
});

const outDir = `${here}out`;
mkdirSync(outDir, { recursive: true });
const outFile = `${outDir}/soak-${new Date().toISOString().replace(/[:.]/g, "-")}.jsonl`;
writeFileSync(outFile, "");

await stack.client.scheduler.queueMany(
  Array.from({ length: schedules }, (_, i) => ({
    id: `tick${i}`,
    name: `tick ${i}`,
    type: "tick",
    jobType: "period",
    cron: "* * * * * ?",
    args: { i },
  })),
);

const jsm = await jetstreamManager(stack.client.nc);
const streamSize = async (name) => {
  const si = await jsm.streams.info(name).catch(() => undefined);
  return si ? { messages: si.state.messages, bytes: si.state.bytes } : undefined;
};

// once jobs: a batch every 100 ms, ONCE_RATE a second
let queued = 0;
let queueErrors = 0;
const endMs = fromMs + seconds * 1000;
const producer = (async () => {
  const perBatch = Math.max(1, Math.round(onceRate / 10));
  let next = Date.now();
  while (Date.now() < endMs) {
    const batch = [];
    for (let k = 0; k < perBatch; k++) {
      const i = queued + k;
      const fail = i % 500 === 7 ? 2 : i % 20 === 3 ? 1 : 0;
      batch.push({
        id: `w${i}`,
        name: `work ${i}`,
        type: "work",
        args: { i, fail },
        maxTryCount: fail === 2 ? 2 : 3,
      });
    }
    try {
      await stack.client.scheduler.queueMany(batch);
      queued += batch.length;
    } catch (err) {
      // a batch not accepted is not counted as queued (its ids are used again by the next one)
      queueErrors++;
      if (queueErrors <= 5) console.error("queue failed:", err.message);
    }
    next += 100;
    await sleep(Math.max(0, next - Date.now()));
  }
})();

const t0 = Date.now();
const sampler = setInterval(async () => {
  const sample = {
    minute: (Date.now() - t0) / 60_000,
    queued,
    rssMb: {
      scheduler: procStat(stack.scheduler.pid).rssMb,
      worker: procStat(worker.pid).rssMb,
      nats: procStat(stack.nats.pid).rssMb,
    },
    schedulerHeapMb: await schedulerHeapMb(),
    jobsBucket: await streamSize(`KV_${ns.buckets.jobs}`),
    /** the scheduler's view: jobs in its index, and those that can still fire */
    jobs: (await stack.client.scheduler.status().catch(() => undefined))?.jobs,
    run: await streamSize(ns.streams.run),
    log: await streamSize(ns.streams.log),
    dlq: await streamSize(ns.streams.dlq),
    worker: lastWorkerSample,
  };
  appendFileSync(outFile, `${JSON.stringify(sample)}\n`);
  const w = lastWorkerSample;
  console.error(
    `soak ${sample.minute.toFixed(1)} min: queued ${queued}, succeeded ${w?.succeeded}, ticks ${w?.ticks}, ` +
      `late p99 ${w?.late?.p99} ms, rss s/w/n ${Object.values(sample.rssMb)
        .map((v) => v.toFixed(0))
        .join("/")} MiB, scheduler heap ${sample.schedulerHeapMb.used.toFixed(0)}/` +
      `${sample.schedulerHeapMb.total.toFixed(0)} MiB, ` +
      `store ${sample.jobsBucket?.messages} msgs, index ${sample.jobs?.total}/${sample.jobs?.active}, log ${sample.log?.messages}, dlq ${sample.dlq?.messages}`,
  );
}, sampleMs);

await producer;
// drain: every accepted once job finished (succeeded or given up), or 120 s passed
const drained = await waitFor(
  async () => {
    const run = await streamSize(ns.streams.run);
    return run && run.messages <= schedules ? true : undefined;
  },
  { timeoutMs: 120_000, intervalMs: 1000, message: "the run stream drained" },
).catch(() => false);
await sleep(2 * sampleMs); // the retries' second attempts and the last samples
clearInterval(sampler);
worker.stdin.write(`report ${queued} ${fromMs + 60_000} ${endMs}\n`);
await waitFor(() => report, { timeoutMs: 60_000, message: "the worker's report" });
await stopProcess(worker);
await stack.stop();

console.log(
  JSON.stringify({
    system: "taskjet-soak",
    minutes,
    schedules,
    onceRate,
    queued,
    queueErrors,
    drained,
    ...report,
    samples: outFile,
  }),
);
process.exit(0);
