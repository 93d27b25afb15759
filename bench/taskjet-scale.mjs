// Scale benchmark: STORED period jobs written straight into the job store (a handful of distinct cron
// expressions and zones, none due during the run), then a scheduler process is started and measured:
// cold start (process start -> "leader: firing" with every job loaded and indexed), RSS, and CPU while idle
// (IDLE_S seconds) compared with a scheduler holding BASELINE stored jobs. Prints one JSON line.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connectTo, startNats, uniqueName } from "@taskjet/testing";
import { ensureTopology, JobStore } from "@taskjet/nats";
import { initialState, namespace, parseJobInput } from "@taskjet/protocol";
import { procStat } from "./procstat.mjs";
import { sleep } from "./lib.mjs";
import { stopProcess } from "./stack.mjs";

const stored = Number(process.env.STORED ?? 1_000_000);
const baseline = Number(process.env.BASELINE ?? 1_000);
const idleS = Number(process.env.IDLE_S ?? 30);
const root = fileURLToPath(new URL("..", import.meta.url));

// yearly-ish schedules: stored and indexed, never due while we measure idle CPU
const crons = ["0 0 3 1 1 ?", "0 30 4 1 7 ?", "0 15 2 29 2 ?", "0 0 12 25 12 ?"];
const zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"];

async function fill(store, count) {
  const now = new Date().toISOString();
  const template = parseJobInput({ name: "x", type: "noop", jobType: "period", cron: crons[0], group: "g0" });
  let next = 0;
  const writer = async () => {
    while (next < count) {
      const i = next++;
      const def = {
        ...template,
        id: `s${i}`,
        name: `s${i}`,
        group: `g${i % 16}`,
        cron: crons[i % 4],
        timeZone: zones[(i >> 2) % 4],
      };
      await store.create({ def, state: initialState(now) });
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 512 }, writer));
  return performance.now() - t0;
}

async function measure(natsUrl, prefix) {
  const env = { ...process.env, NATS_URL: natsUrl, TASKJET_PREFIX: prefix, TASKJET_LOG_LEVEL: "info" };
  // PROF=<dir> writes a CPU profile of each scheduler process there (as in stack.mjs)
  const prof = process.env.PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.PROF}`] : [];
  const t0 = performance.now();
  const p = spawn(
    process.execPath,
    [...prof, "--max-old-space-size=4096", "services/scheduler/dist/main.js"],
    {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let buf = "";
  const tail = [];
  const loaded = {};
  await new Promise((resolve, reject) => {
    p.once("exit", (code) => reject(new Error(`scheduler exited with ${code}: ${tail.join("\n")}`)));
    p.stdout.on("data", (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        tail.push(line.slice(0, 2000));
        if (tail.length > 5) tail.shift();
        try {
          const rec = JSON.parse(line);
          if (rec.msg === "job store loaded") Object.assign(loaded, { jobs: rec.jobs, loadMs: rec.loadMs });
          if (rec.msg === "leader: firing") {
            loaded.readyMs = performance.now() - t0;
            resolve();
          }
        } catch {
          // not a log line
        }
      }
    });
  });
  const afterLoad = procStat(p.pid);
  await sleep(idleS * 1000);
  const afterIdle = procStat(p.pid);
  await stopProcess(p);
  return {
    ...loaded,
    rssMb: afterIdle.rssMb,
    rssAfterLoadMb: afterLoad.rssMb,
    idleCpuMsPerS: (afterIdle.cpuMs - afterLoad.cpuMs) / idleS,
  };
}

const nats = await startNats();
const nc = await connectTo(nats.url);
const out = { system: "taskjet", stored, baseline, idleS };
for (const [label, count] of [
  ["baseline", baseline],
  ["scale", stored],
]) {
  const prefix = uniqueName("scale");
  const ns = namespace(prefix);
  const topo = await ensureTopology(nc, ns);
  const fillMs = await fill(new JobStore(topo.jobs, ns), count);
  out[label] = { count, fillMs, ...(await measure(nats.url, prefix)) };
}
console.log(JSON.stringify(out));
await nc.close();
await nats.stop();
process.exit(0);
