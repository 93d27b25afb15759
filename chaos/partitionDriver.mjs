// One run of a partition scenario, inside the lab (started by chaos/partition.mjs in host 2's namespace,
// beside NATS node 2, as the client's host). Starts the NATS cluster and the services on their hosts
// (`ip netns exec`), queues the load, cuts and heals links (`ip -n <hub> link set`, which works from any
// namespace), drains, counts, and writes the result to $PARTITION_DIR/result.json. Bounded: every wait has
// a deadline; chaos/partition.mjs removes the lab and whatever still runs in it afterwards.
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connectTo, uniqueName, waitFor } from "@taskjet/testing";
import { TaskjetClient } from "@taskjet/client";
import { cut, heal } from "./netns.mjs";
import { child, root, service, sleep } from "./services.mjs";
import { countRuns, longestGapMs, onceLoad, queuePeriodJobs, tally } from "./tally.mjs";

const scenario = process.env.PARTITION_SCENARIO;
const lab = JSON.parse(process.env.PARTITION_LAB);
const dir = process.env.PARTITION_DIR;
const durationS = Number(process.env.DURATION_S ?? 45);
const faultAtS = Number(process.env.FAULT_AT_S ?? 10);
const cutS = Number(process.env.CUT_S ?? 20);
const oncePerS = Number(process.env.ONCE_PER_S ?? 50);
const periodJobs = Number(process.env.PERIOD_JOBS ?? 50);
const ackWaitMs = 5_000;
const leaseTtlMs = 2_000;
const urlOf = (i) => `nats://${lab.hosts[i].ip}:4222`;
/** A host's own node first: its services talk to the NATS node beside them while it is reachable. */
const urlsFrom = (i) => [i, ...[0, 1, 2].filter((k) => k !== i)].map(urlOf);

/** NATS node i on host i: client port 4222, cluster port 6222, routes to the other two hosts. */
function natsNode(i, clusterName) {
  const h = lab.hosts[i];
  const store = join(dir, `n${i}`);
  mkdirSync(store, { recursive: true });
  const routes = lab.hosts.filter((_, k) => k !== i).map((o) => `nats://${o.ip}:6222`);
  const conf = join(dir, `n${i}.conf`);
  writeFileSync(
    conf,
    [
      `server_name: n${i}`,
      `listen: "${h.ip}:4222"`,
      `jetstream { store_dir: "${store}" }`,
      // monitoring, for the probe below (what each node's routes hold during the fault)
      `http: "${h.ip}:8222"`,
      // PARTITION_NATS_TUNED=1: a silently dead route (or client) is noticed in seconds, not minutes
      ...(process.env.PARTITION_NATS_TUNED === "1"
        ? ["write_deadline: 2s", "ping_interval: 2s", "ping_max: 2"]
        : []),
      `cluster { name: ${clusterName}, listen: "${h.ip}:6222", routes: [${routes.map((r) => `"${r}"`).join(", ")}] }`,
    ].join("\n") + "\n",
  );
  // PARTITION_NATS_DEBUG=1: nats-server's debug log (-D) in n<i>.log
  const debug = process.env.PARTITION_NATS_DEBUG === "1" ? ["-D"] : [];
  return child(process.env.PARTITION_NATS_SERVER, ["-c", conf, ...debug], {
    netns: h.ns,
    logFile: join(dir, `n${i}.log`),
  });
}

/** Waits until an R3 stream can be placed (every node reported to an elected meta leader). */
async function clusterReady(nc) {
  const jsm = await waitFor(() => jetstreamManager(nc, { timeout: 5_000 }).catch(() => undefined), {
    timeoutMs: 60_000,
    intervalMs: 250,
    message: "JetStream answers on the lab's cluster (a meta leader is elected)",
  });
  const name = uniqueName("probe");
  let last = "";
  await waitFor(
    () =>
      // an add that timed out may have created it: then the next add is refused, but info finds it
      jsm.streams
        .info(name)
        .catch(() => jsm.streams.add({ name, subjects: [`${name}.>`], num_replicas: 3 }))
        .then(() => true)
        .catch((err) => {
          last = String(err?.message ?? err);
          return false;
        }),
    { timeoutMs: 60_000, intervalMs: 250, message: "an R3 stream could be placed on the lab's cluster" },
  ).catch((err) => {
    throw new Error(`${err.message}; last answer: ${last}`);
  });
  await jsm.streams.delete(name);
  return jsm;
}

/**
 * Every 500 ms until `stop()`, what each NATS node reachable from here reports of its routes (/routez:
 * remote, pending bytes, messages in and out), of itself (/varz: slow consumers, JetStream API errors) and
 * of the leaders of taskjet's run stream, its consumers and the job, lease and cursor buckets (/jsz; ""
 * while it knows none),
 * appended as JSON lines to $PARTITION_DIR/probe.jsonl: the evidence of what the servers do in a fault.
 * `stop()` resolves to the samples.
 */
function probeNodes(prefix) {
  const file = join(dir, "probe.jsonl");
  const streams = {
    run: `${prefix}-run`,
    jobs: `KV_${prefix}-jobs`,
    lease: `KV_${prefix}-lease`,
    sched: `KV_${prefix}-sched`,
  };
  const samples = [];
  let stopped = false;
  const get = (i, path) =>
    fetch(`http://${lab.hosts[i].ip}:8222/${path}`, { signal: AbortSignal.timeout(400) })
      .then((r) => r.json())
      .catch((err) => ({ error: String(err?.message ?? err) }));
  const leadersIn = (jsz) => {
    const details = (jsz.account_details ?? []).flatMap((a) => a.stream_detail ?? []);
    const leaders = Object.fromEntries(
      Object.entries(streams).map(([k, name]) => [
        k,
        details.find((d) => d.name === name)?.cluster?.leader ?? "",
      ]),
    );
    // the run stream's consumers (each its own raft group), by name: their leaders, comma-separated
    const consumers = details.find((d) => d.name === streams.run)?.consumer_detail ?? [];
    leaders.consumers = consumers.length
      ? [...consumers]
          .sort((x, y) => (x.name < y.name ? -1 : 1))
          .map((c) => c.cluster?.leader ?? "")
          .join(",")
      : "";
    return leaders;
  };
  const loop = (async () => {
    while (!stopped) {
      const at = Date.now();
      const rows = await Promise.all(
        [0, 1, 2].map(async (i) => {
          const [routez, varz, jsz] = await Promise.all([
            get(i, "routez"),
            get(i, "varz"),
            get(i, "jsz?accounts=true&streams=true&consumers=true"),
          ]);
          const error = routez.error ?? varz.error ?? jsz.error;
          if (error) return { node: `n${i}`, error };
          return {
            node: `n${i}`,
            leaders: leadersIn(jsz),
            routes: (routez.routes ?? []).map((r) => ({
              rid: r.rid,
              remote: r.remote_name ?? r.remote_id,
              pending: r.pending_size,
              outMsgs: r.out_msgs,
              inMsgs: r.in_msgs,
            })),
            slowConsumers: varz.slow_consumers,
            jsApiErrors: varz.jetstream?.stats?.api?.errors,
          };
        }),
      );
      samples.push({ at, rows });
      appendFileSync(file, JSON.stringify({ at, rows }) + "\n");
      await sleep(Math.max(0, 500 - (Date.now() - at)));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return samples;
    },
  };
}

/**
 * For each probed stream: ms from `from` until every node the probe reached agreed on one leader outside
 * `cutNodes` (a leader there is of no use to this side, though the others name it until they notice), and
 * did so in every sample up to `to`: the probe's view of "the stream has a leader again"; `to - from` when
 * that never happened.
 */
function leaderBackMs(samples, from, to, cutNodes = []) {
  const keys = ["run", "jobs", "lease", "sched", "consumers"];
  // `consumers`: every consumer of the run stream has such a leader
  const usable = (l) => l.split(",").every((one) => one && !cutNodes.includes(one));
  const settled = (s, k) => {
    const seen = s.rows.filter((r) => !r.error).map((r) => r.leaders[k]);
    return seen.length > 0 && seen.every((l) => l && l === seen[0] && usable(l));
  };
  const within = samples.filter((s) => s.at >= from && s.at <= to);
  return Object.fromEntries(
    keys.map((k) => {
      let back = to;
      for (let i = within.length - 1; i >= 0 && settled(within[i], k); i--) back = within[i].at;
      return [k, back - from];
    }),
  );
}

/** Leader and replica state (last sequence, lag, current) of a stream, by NATS node name. */
async function streamState(jsm, name) {
  try {
    const info = await jsm.streams.info(name);
    return {
      leader: info.cluster?.leader,
      lastSeq: info.state.last_seq,
      messages: info.state.messages,
      replicas: (info.cluster?.replicas ?? []).map(
        (r) => `${r.name}:${r.current ? "current" : "behind"} lag ${r.lag ?? 0}`,
      ),
    };
  } catch (err) {
    return { error: String(err?.message ?? err) };
  }
}

async function main() {
  const result = { scenario, fault: "" };
  const clusterName = uniqueName("pc");
  const startNodes = () => [0, 1, 2].map((i) => natsNode(i, clusterName));
  let nodes = startNodes();
  const services = [];
  let client;
  let nc;
  try {
    nc = await waitFor(
      () =>
        connectTo(urlsFrom(2), { maxReconnectAttempts: -1, reconnectTimeWait: 250 }).catch(() => undefined),
      { timeoutMs: 30_000, intervalMs: 250, message: "a NATS node of the lab answers" },
    );
    // three fresh nats-servers (2.10.27) sometimes elect a meta leader that answers "no suitable peers
    // for placement" for over a minute (2 of 40 runs, before any fault): start them once more, empty
    const jsm = await clusterReady(nc).catch(async (err) => {
      console.error(`partition: the lab's cluster did not form (${err.message}); starting it again`);
      result.clusterRestarted = String(err.message);
      await Promise.all(nodes.map((n) => n.stop()));
      for (const i of [0, 1, 2]) rmSync(join(dir, `n${i}`), { recursive: true, force: true });
      nodes = startNodes();
      return clusterReady(nc);
    });
    const prefix = uniqueName("part");
    const runsFile = join(dir, "runs.log");
    const env = (i, extra) => ({
      ...process.env,
      NATS_URL: urlsFrom(i).join(","),
      TASKJET_PREFIX: prefix,
      TASKJET_LOG_LEVEL: process.env.PARTITION_LOG_LEVEL ?? "warn",
      TASKJET_STREAM_REPLICAS: "3",
      TASKJET_LEASE_TTL_MS: String(leaseTtlMs),
      TASKJET_ACK_WAIT_MS: String(ackWaitMs),
      CHAOS_RUNS_FILE: runsFile,
      ...extra,
    });
    const worker = (i, node) =>
      service(
        "worker",
        ["--node", node, "--handlers", join(root, "chaos/recorder.mjs"), "--concurrency", "50"],
        env(i),
        { netns: lab.hosts[i].ns, logFile: join(dir, `w${i}.log`) },
      );
    client = await TaskjetClient.connect({ servers: urlsFrom(2), prefix, requestTimeoutMs: 5_000 });
    const s1 = service("scheduler", [], env(0, { TASKJET_REPLICA_ID: "s1" }), {
      netns: lab.hosts[0].ns,
      watch: /takeover failed/,
      logFile: join(dir, "s1.log"),
    });
    services.push(s1);
    await waitFor(async () => (await client.scheduler.status().catch(() => undefined))?.leader, {
      timeoutMs: 60_000,
      message: "a scheduler leads",
    });
    services.push(
      service("scheduler", [], env(1, { TASKJET_REPLICA_ID: "s2" }), {
        netns: lab.hosts[1].ns,
        watch: /takeover failed/,
        logFile: join(dir, "s2.log"),
      }),
    );
    const workers = [worker(0, "n1"), worker(1, "n2")];
    services.push(...workers);
    // both schedulers and both workers up before the load (a service that failed to start fails the run)
    await waitFor(
      async () => {
        const st = await client.scheduler.status().catch(() => undefined);
        return st && st.replicas.length >= 2 && st.workers.length >= 2;
      },
      { timeoutMs: 60_000, message: "both schedulers and both workers are up" },
    );
    const periodIds = await queuePeriodJobs(client, periodJobs);

    let window;
    const fault = (async () => {
      await sleep(faultAtS * 1000);
      const leaderId = (await client.scheduler.status().catch(() => undefined))?.leader?.replicaId;
      const leaderHost = leaderId === "s2" ? 1 : 0;
      const before = {
        run: (await streamState(jsm, `${prefix}-run`)).leader,
        jobs: (await streamState(jsm, `KV_${prefix}-jobs`)).leader,
        lease: (await streamState(jsm, `KV_${prefix}-lease`)).leader,
      };
      const hosts = {
        "partition-leader-minority": [leaderHost],
        "partition-worker-minority": [1 - leaderHost],
        "partition-flap": [leaderHost],
        "partition-split3": [0, 1, 2],
      }[scenario];
      if (!hosts) throw new Error(`unknown partition scenario ${scenario}`);
      const cutNodes = hosts.map((i) => `n${i}`);
      const at = Date.now();
      if (scenario === "partition-flap") {
        while (Date.now() - at < cutS * 1000) {
          for (const i of hosts) cut(lab, i);
          await sleep(2_000);
          for (const i of hosts) heal(lab, i);
          await sleep(2_000);
        }
      } else {
        for (const i of hosts) cut(lab, i);
        await sleep(cutS * 1000);
        for (const i of hosts) heal(lab, i);
      }
      window = { at, healedAt: Date.now(), hosts };
      result.fault =
        `${scenario === "partition-flap" ? "flapped" : "cut off"} host(s) ${hosts.join(",")} for ` +
        `${Math.round((window.healedAt - at) / 1000)} s (scheduler leader ${leaderId} on host ${leaderHost}; ` +
        `run stream leader ${before.run}${cutNodes.includes(before.run) ? " (cut side)" : ""}, ` +
        `job bucket leader ${before.jobs}${cutNodes.includes(before.jobs) ? " (cut side)" : ""}, ` +
        `lease bucket leader ${before.lease}${cutNodes.includes(before.lease) ? " (cut side)" : ""})`;
    })();
    const probe = probeNodes(prefix);
    const load = await onceLoad(client, { perSecond: oncePerS, durationS });
    await fault;
    const samples = await probe.stop();
    if (!window) throw new Error("the fault was not injected (the load ended first)");
    const afterHeal = countRuns(runsFile).times;
    result.stallAfterHealMs = longestGapMs(afterHeal, window.healedAt, load.tEnd);
    result.stallLimitMs = 2 * leaseTtlMs;
    result.stallDuringCutMs = longestGapMs(afterHeal, window.at, window.healedAt);
    // when the streams had a leader again, as the reachable nodes saw it: in the cut, the majority's view
    result.leaderBackAfterCutMs = leaderBackMs(
      samples,
      window.at,
      window.healedAt,
      window.hosts.map((i) => `n${i}`),
    );
    result.leaderBackAfterHealMs = leaderBackMs(
      samples,
      window.healedAt,
      Math.min(load.tEnd, window.healedAt + 20_000),
    );
    // every accepted once job runs; then past two ack waits, so a duplicate redelivery would show
    await waitFor(() => [...load.accepted].every((id) => countRuns(runsFile).once.has(id)), {
      timeoutMs: 4 * ackWaitMs + 60_000,
      intervalMs: 500,
      message: "every accepted once job ran",
    }).catch(() => undefined);
    await sleep(2 * ackWaitMs + 3_000);
    const outage = [window.at - 1000, window.healedAt + leaseTtlMs + 2000];
    const runs = countRuns(runsFile);
    Object.assign(result, tally(runs, load, { periodIds, outage, killedPids: new Set() }));
    const cutPids = new Set(workers.filter((_, i) => window.hosts.includes(i)).map((w) => w.pid));
    // a duplicate whose first run was during the cut (from an ack wait before it to the heal): that run's
    // ack and outcome could not get through (a cut-off worker, or acks to a consumer leader on the cut-off
    // side), as if its worker had died mid-run; counted apart from duplicates a working network would show
    const inCut = (r) => r.at >= window.at - ackWaitMs && r.at <= window.healedAt;
    result.duplicatesFirstRunInCut = [...runs.once, ...runs.period].filter(
      ([, rs]) => rs.length > 1 && inCut(rs[0]),
    ).length;
    result.duplicatesFirstRunCutOffWorker = [...runs.once, ...runs.period].filter(
      ([, rs]) => rs.length > 1 && inCut(rs[0]) && cutPids.has(rs[0].pid),
    ).length;
    result.cutAt = window.at;
    result.healedAt = window.healedAt;
    result.workerPids = workers.map((w) => w.pid);
    let skipped = 0;
    for await (const j of client.scheduler.iterate({ jobType: "period" })) skipped += j.skippedCount ?? 0;
    result.periodSkippedRecorded = skipped;
    result.runStream = await streamState(jsm, `${prefix}-run`);
    result.jobBucket = await streamState(jsm, `KV_${prefix}-jobs`);
    result.takeoverFailures = services.reduce((n, s) => n + s.matches(), 0);
  } catch (err) {
    result.error = String(err?.stack ?? err);
    result.logs = [...nodes, ...services].map((s) => s.log().slice(-1500));
  } finally {
    await client?.close().catch(() => undefined);
    await Promise.all(services.map((s) => s.stop()));
    await nc?.close().catch(() => undefined);
    await Promise.all(nodes.map((n) => n.stop()));
  }
  writeFileSync(join(dir, "result.json"), JSON.stringify(result));
}

await main();
process.exit(0);
