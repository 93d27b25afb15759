// `npm run chaos`: fault scenarios against real processes (nats-server, scheduler and worker services),
// each bounded and self-stopping, counting lost and duplicate runs exactly (issue 13). Each run queues a
// steady load (once jobs one by one, plus every-second period jobs), injects one fault, lets everything
// drain past the ack wait (a duplicate would come back by then), and counts the handler's runs from the
// file the workers append to (chaos/recorder.mjs).
//   CHAOS=nats-kill,stream-leader-kill,jobs-leader-kill,worker-kill,leader-stop,store-full,
//         partition-leader-minority,partition-worker-minority,partition-flap,partition-split3   (default all)
//     nats-kill           single nats-server SIGKILL, restarted after 2 s
//     stream-leader-kill  3-node R3 cluster: the node leading the run stream SIGKILLed, back after 10 s
//     jobs-leader-kill    3-node R3 cluster: the node leading the job bucket SIGKILLed, back after 10 s
//     worker-kill         one of two workers SIGKILLed mid-run, a new one after 2 s
//     leader-stop         the leading scheduler SIGSTOPped past its lease (6 s), then SIGCONT
//     store-full          JetStream's file store filled up for 10 s (max_file_store), then freed
//     partition-*         network partitions between three network namespaces (root and `ip` needed):
//                         chaos/partition.mjs says what each does and what it measures
//   REPEAT=5            runs of each scenario
//   DURATION_S=30       load time; the fault comes at FAULT_AT_S=10
//   ONCE_PER_S=100      once jobs queued a second;  PERIOD_JOBS=100  every-second jobs
// Prints one JSON line per run and a summary; exits 1 when any run lost an accepted job or ran a fire twice
// (a rerun of a fire whose first run was on a SIGKILLed worker is allowed by promise 3 and counted apart).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { startCluster, startNats, uniqueName, waitFor } from "@taskjet/testing";
import { TaskjetClient } from "@taskjet/client";
import { requireBuilt, root, service, sleep } from "./services.mjs";
import { countRuns, failedRun, onceLoad, queuePeriodJobs, summary, tally } from "./tally.mjs";
import { partitionScenarios, runPartition } from "./partition.mjs";

const allScenarios = [
  "nats-kill",
  "stream-leader-kill",
  "jobs-leader-kill",
  "worker-kill",
  "leader-stop",
  "store-full",
  ...partitionScenarios,
];
const scenarios = (process.env.CHAOS ?? allScenarios.join(",")).split(",");
for (const s of scenarios) if (!allScenarios.includes(s)) throw new Error(`unknown scenario ${s}`);
const repeat = Number(process.env.REPEAT ?? 5);
const durationS = Number(process.env.DURATION_S ?? 30);
const faultAtS = Number(process.env.FAULT_AT_S ?? 10);
const oncePerS = Number(process.env.ONCE_PER_S ?? 100);
const periodJobs = Number(process.env.PERIOD_JOBS ?? 100);
const ackWaitMs = 5_000;
/** store-full: JetStream's whole file store, and what the hog stream leaves free once it filled up */
const STORE_BYTES = 256 * 2 ** 20;
const leaseTtlMs = 2_000;

requireBuilt();

async function runOnce(scenario) {
  const cluster = scenario.endsWith("-leader-kill") && scenario !== "leader-stop";
  const dir = mkdtempSync(join(tmpdir(), "taskjet-chaos-"));
  let natsArgs = [];
  if (scenario === "store-full") {
    writeFileSync(join(dir, "small.conf"), `jetstream { max_file_store: ${STORE_BYTES} }\n`);
    natsArgs = ["-c", join(dir, "small.conf")];
  }
  const nats = cluster ? await startCluster({ size: 3 }) : await startNats({ args: natsArgs });
  const urls = cluster ? nats.urls : [nats.url];
  const prefix = uniqueName("chaos");
  const runsFile = join(dir, "runs.log");
  const env = {
    ...process.env,
    NATS_URL: urls.join(","),
    TASKJET_PREFIX: prefix,
    TASKJET_LOG_LEVEL: "warn",
    TASKJET_STREAM_REPLICAS: cluster ? "3" : "1",
    TASKJET_LEASE_TTL_MS: String(leaseTtlMs),
    TASKJET_ACK_WAIT_MS: String(ackWaitMs),
    CHAOS_RUNS_FILE: runsFile,
  };
  const schedulers = [];
  const workers = [];
  const worker = (name) =>
    service(
      "worker",
      ["--node", name, "--handlers", join(root, "chaos/recorder.mjs"), "--concurrency", "50"],
      env,
    );
  const killedWorkerPids = new Set();
  const result = { scenario, fault: "" };
  const client = await TaskjetClient.connect({ servers: urls, prefix, requestTimeoutMs: 5_000 });
  try {
    // the first scheduler creates the streams and buckets; the other processes start once it leads
    schedulers.push(service("scheduler", [], { ...env, TASKJET_REPLICA_ID: "s1" }));
    await waitFor(async () => (await client.scheduler.status().catch(() => undefined))?.leader, {
      timeoutMs: 60_000,
      message: "a scheduler leads",
    });
    if (scenario === "leader-stop")
      schedulers.push(service("scheduler", [], { ...env, TASKJET_REPLICA_ID: "s2" }));
    workers.push(worker("n1"));
    if (scenario === "worker-kill") workers.push(worker("n1"));
    await waitFor(
      async () => (await client.cluster.types().catch(() => [])).some((t) => t.type === "chaos"),
      {
        timeoutMs: 30_000,
        message: "a worker registered the chaos type",
      },
    );
    const periodIds = await queuePeriodJobs(client, periodJobs);
    let faultDone;
    const fault = (async () => {
      await sleep(faultAtS * 1000);
      const at = Date.now();
      result.fault = await inject(scenario, {
        nats,
        urls,
        prefix,
        schedulers,
        workers,
        client,
        killedWorkerPids,
        worker,
      });
      faultDone = { at, recoveredAt: Date.now() };
    })();
    const load = await onceLoad(client, { perSecond: oncePerS, durationS });
    await fault;
    if (!faultDone) throw new Error("the fault was not injected (the load ended first)");
    // every accepted once job runs; then past two ack waits, so a duplicate redelivery would show
    const onceRuns = () => countRuns(runsFile).once;
    await waitFor(() => [...load.accepted].every((id) => onceRuns().has(id)), {
      timeoutMs: 4 * ackWaitMs + 60_000,
      intervalMs: 500,
      message: "every accepted once job ran",
    }).catch(() => undefined);
    await sleep(2 * ackWaitMs + 3_000);
    // period fires: the fault window is from 1 s before it to the lease time + 2 s after it ended
    const outage = [faultDone.at - 1000, faultDone.recoveredAt + leaseTtlMs + 2000];
    Object.assign(
      result,
      tally(countRuns(runsFile), load, { periodIds, outage, killedPids: killedWorkerPids }),
    );
    let skippedCount = 0;
    for await (const j of client.scheduler.iterate({ jobType: "period" }))
      skippedCount += j.skippedCount ?? 0;
    result.periodSkippedRecorded = skippedCount;
  } catch (err) {
    result.error = String(err?.stack ?? err);
    result.logs = [...schedulers, ...workers].map((s) => s.log().slice(-2000));
  } finally {
    await client.close().catch(() => undefined);
    await Promise.all([...schedulers, ...workers].map((s) => s.stop()));
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

/** The fault of a scenario; resolves once it is over (the failed part is back). Returns what it did. */
async function inject(scenario, c) {
  switch (scenario) {
    case "nats-kill": {
      await c.nats.kill("SIGKILL");
      await sleep(2_000);
      await c.nats.restart();
      return "nats-server SIGKILL, restarted after 2 s";
    }
    case "stream-leader-kill":
    case "jobs-leader-kill": {
      const nc = await connect({ servers: c.urls });
      const jsm = await jetstreamManager(nc);
      const run = (await jsm.streams.info(`${c.prefix}-run`)).cluster?.leader;
      const jobs = (await jsm.streams.info(`KV_${c.prefix}-jobs`)).cluster?.leader;
      await nc.close();
      const target = scenario === "stream-leader-kill" ? run : jobs;
      const i = [0, 1, 2].find((k) => c.nats.serverName(k) === target) ?? 0;
      await c.nats.killNode(i);
      await sleep(10_000);
      await c.nats.restartNode(i);
      return `killed node ${i} (run stream leader ${run === target ? "yes" : "no"}, jobs bucket leader ${jobs === target ? "yes" : "no"}), restarted after 10 s`;
    }
    case "store-full": {
      // a stream of big messages takes every byte JetStream may store; then it is deleted
      const nc = await connect({ servers: c.urls });
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      const hog = `${c.prefix}-hog`;
      await jsm.streams.add({ name: hog, subjects: [`${hog}.>`], storage: "file" });
      const chunk = new Uint8Array(512 * 1024);
      let stored = 0;
      for (;;) {
        try {
          await js.publish(`${hog}.x`, chunk);
          stored += chunk.length;
        } catch {
          break; // the store is full
        }
      }
      await sleep(10_000);
      await jsm.streams.delete(hog);
      await nc.close();
      return `file store filled (${Math.round(stored / 2 ** 20)} MiB of hog) for 10 s, then freed`;
    }
    case "worker-kill": {
      const victim = c.workers[0];
      c.killedWorkerPids.add(victim.pid);
      await victim.kill();
      await sleep(2_000);
      c.workers[0] = c.worker("n1");
      return `worker ${victim.pid} SIGKILL mid-run, a new one after 2 s`;
    }
    case "leader-stop": {
      const leader = (await c.client.scheduler.status()).leader?.replicaId;
      const victim = c.schedulers.find((_, k) => `s${k + 1}` === leader) ?? c.schedulers[0];
      victim.pause();
      await sleep(3 * leaseTtlMs);
      victim.resume();
      return `leader ${leader} SIGSTOP for ${(3 * leaseTtlMs) / 1000} s (past its lease), then SIGCONT`;
    }
    default:
      throw new Error(`unknown scenario ${scenario}`);
  }
}

const all = [];
let failed = false;
for (let r = 1; r <= repeat; r++) {
  for (const scenario of scenarios) {
    const res = scenario.startsWith("partition-") ? await runPartition(scenario) : await runOnce(scenario);
    res.run = r;
    all.push(res);
    console.log(JSON.stringify(res));
    if (failedRun(res)) failed = true;
  }
}
for (const line of summary(all, scenarios)) console.log(line);
process.exit(failed ? 1 : 0);
