// `npm run bench`: runs each benchmark in its own process, side by side with BullMQ where the issue asks
// for a baseline, and prints medians and ratios. Results are also written to bench/out/<time>.json.
//   BENCH=throughput,precision,scale,memory   which ones (default all)
//   QUICK=1                                   scaled-down sizes for a smoke run
//   REPEAT=3                                  throughput repetitions (median reported)
//   BENCH_NODE_OPTIONS="..."                  node flags of every benchmark process (default: the image's,
//                                             --max-semi-space-size=64; "" for node's defaults)
//   FLOOR=0                                   skip the bare-JetStream floor runs beside throughput/precision
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const quick = process.env.QUICK === "1";
const selected = (process.env.BENCH ?? "throughput,precision,scale,memory").split(",");
const repeat = Number(process.env.REPEAT ?? (quick ? 1 : 3));
const floor = process.env.FLOOR !== "0";

// every process alike (taskjet's, BullMQ's and the floors'), with the flags the Dockerfile gives services
const commonNodeArgs = (process.env.BENCH_NODE_OPTIONS ?? "--max-semi-space-size=64")
  .split(" ")
  .filter(Boolean);

function run(script, env = {}, nodeArgs = []) {
  const r = spawnSync(process.execPath, [...commonNodeArgs, ...nodeArgs, `${here}${script}`], {
    env: { ...process.env, ...env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 2 ** 20,
    timeout: 30 * 60_000,
  });
  const line = r.stdout
    .trim()
    .split("\n")
    .filter((l) => l.startsWith('{"system"'))
    .pop();
  if (r.status !== 0 || !line)
    throw new Error(`${script} failed (exit ${r.status}):\n${r.stdout.slice(-2000)}`);
  const result = JSON.parse(line);
  console.log(`  ${script}: ${line}`);
  return result;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const machine = {
  date: new Date().toISOString(),
  nodeArgs: commonNodeArgs.join(" "),
  cpus: `${cpus().length} x ${cpus()[0]?.model ?? "?"}`,
  memGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  nats: execFileSync("nats-server", ["--version"], { encoding: "utf8" }).trim(),
  redis: spawnSync("redis-server", ["--version"], { encoding: "utf8" }).stdout?.split(" ")[2] ?? "?",
};
console.log("machine", JSON.stringify(machine));
const report = { machine, quick };

if (selected.includes("throughput")) {
  // 20,000 once jobs, concurrency 100, like for like (issue 12): both removing finished jobs, both keeping
  // them (BullMQ's default), and taskjet with per-job events and the run log on (removing)
  const jobs = quick ? 5_000 : 20_000;
  const base = { JOBS: String(jobs), CONCURRENCY: "100" };
  const runs = { bullmq: [], bullmqKeep: [], taskjet: [], taskjetKeep: [], telemetry: [] };
  // what bare JetStream does on this machine: no store (lean) and the least any store-backed design pays
  if (floor) Object.assign(runs, { floorLean: [], floorLeanPut: [], floorStore: [], floorKvQueue: [] });
  for (let i = 0; i < repeat; i++) {
    // interleaved, so drift in machine load hits both sides alike
    runs.bullmq.push(run("bullmq-throughput.mjs", base));
    runs.taskjet.push(run("taskjet-throughput.mjs", base));
    runs.bullmqKeep.push(run("bullmq-throughput.mjs", { ...base, KEEP: "1" }));
    runs.taskjetKeep.push(run("taskjet-throughput.mjs", { ...base, KEEP: "1" }));
    runs.telemetry.push(run("taskjet-throughput.mjs", { ...base, TELEMETRY: "1" }));
    if (floor) {
      runs.floorLean.push(run("jetstream-floor.mjs", { JOBS: String(jobs), MODE: "lean" }));
      runs.floorLeanPut.push(run("jetstream-floor.mjs", { JOBS: String(jobs), MODE: "lean-put" }));
      runs.floorStore.push(run("jetstream-floor.mjs", { JOBS: String(jobs), MODE: "store-lean" }));
      runs.floorKvQueue.push(run("jetstream-floor.mjs", { JOBS: String(jobs), MODE: "kv-queue" }));
    }
  }
  const m = Object.fromEntries(
    Object.entries(runs).map(([k, v]) => [k, median(v.map((r) => r.jobsPerSecond))]),
  );
  const ratio = {
    remove: m.taskjet / m.bullmq,
    keep: m.taskjetKeep / m.bullmqKeep,
    telemetry: m.telemetry / m.bullmq,
  };
  report.throughput = {
    jobs,
    runs,
    medianJobsPerSecond: m,
    ratio,
    targets: { remove: 2, keep: 1.5, telemetry: 1.2 },
  };
  console.log(
    `throughput (medians of ${repeat}): removing finished jobs taskjet ${m.taskjet.toFixed(0)}/s, ` +
      `BullMQ ${m.bullmq.toFixed(0)}/s -> ${ratio.remove.toFixed(2)}x (target 2x); keeping them taskjet ` +
      `${m.taskjetKeep.toFixed(0)}/s, BullMQ ${m.bullmqKeep.toFixed(0)}/s -> ${ratio.keep.toFixed(2)}x (target 1.5x); ` +
      `taskjet with events + run log ${m.telemetry.toFixed(0)}/s -> ${ratio.telemetry.toFixed(2)}x (target 1.2x)`,
  );
  if (floor) {
    console.log(
      `throughput floor: bare JetStream ${m.floorLean.toFixed(0)}/s (${(m.floorLean / m.bullmq).toFixed(2)}x BullMQ), ` +
        `with one store write at completion (the fast lane's least) ${m.floorLeanPut.toFixed(0)}/s ` +
        `(${(m.floorLeanPut / m.bullmq).toFixed(2)}x BullMQ), ` +
        `with a store create + update per job ${m.floorStore.toFixed(0)}/s (${(m.floorStore / m.bullmq).toFixed(2)}x BullMQ), ` +
        `the store's stream as the queue ${m.floorKvQueue.toFixed(0)}/s (${(m.floorKvQueue / m.bullmq).toFixed(2)}x BullMQ)`,
    );
  }
}

if (selected.includes("precision")) {
  const env = { SCHEDULES: quick ? "1000" : "10000", DURATION_S: quick ? "15" : "60", WARMUP_S: "5" };
  const taskjet = run("taskjet-precision.mjs", env);
  const bullmq = run("bullmq-precision.mjs", env);
  const bare = floor ? run("jetstream-floor-precision.mjs", env) : undefined;
  report.precision = {
    ...env,
    taskjet,
    bullmq,
    floor: bare,
    p99Ratio: bullmq.latenessMs.p99 / taskjet.latenessMs.p99,
  };
  for (const r of [taskjet, bullmq, ...(bare ? [bare] : [])]) {
    console.log(
      `precision ${r.system}: p50 ${r.latenessMs.p50} ms, p99 ${r.latenessMs.p99} ms, max ${r.latenessMs.max} ms, ` +
        `missed ${r.missed}/${r.expected}, duplicates ${r.duplicates}`,
    );
  }
}

if (selected.includes("scale")) {
  report.scale = run("taskjet-scale.mjs", {
    STORED: quick ? "100000" : "1000000",
    IDLE_S: quick ? "10" : "30",
  });
  const s = report.scale.scale;
  console.log(
    `scale: ${s.count} stored -> ready in ${(s.readyMs / 1000).toFixed(1)} s (load ${(s.loadMs / 1000).toFixed(1)} s), ` +
      `RSS ${s.rssMb.toFixed(0)} MiB, idle CPU ${s.idleCpuMsPerS.toFixed(1)} ms/s ` +
      `(baseline ${report.scale.baseline.count} stored: ${report.scale.baseline.idleCpuMsPerS.toFixed(1)} ms/s)`,
  );
}

if (selected.includes("memory")) {
  report.memory = run("taskjet-memory.mjs", { JOBS: quick ? "50000" : "1000000" }, ["--expose-gc"]);
  console.log(
    `memory: ${report.memory.jobs} jobs, RSS ${report.memory.rssStartMb} -> ${report.memory.rssEndMb} MiB`,
  );
}

mkdirSync(`${here}out`, { recursive: true });
const file = `${here}out/${machine.date.replace(/[:.]/g, "-")}.json`;
writeFileSync(file, JSON.stringify(report, null, 2));
console.log(`written ${file}`);
