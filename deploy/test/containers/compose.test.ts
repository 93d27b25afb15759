// docker-compose.yml with the local images (docker-compose.local.yml), as committed: a 3-node NATS cluster
// (R3 streams, a user per role), two schedulers, workers of nodes n1 and n2, the gateway and the demo job,
// all on the host's network with ports picked free here. Jobs are queued through the gateway; then the
// leading scheduler's container and the NATS server leading the run stream are killed (SIGKILL). Every
// job must run exactly as often as it should: each once job once, each recurring job once per fire up to
// its maxCount, no fire twice, none lost. Last, every taskjet container stops gracefully on SIGTERM.
// The stack runs through the docker-compose CLI on the committed files, as an operator runs it, so the test
// checks those files rather than a programmatic copy; testcontainers drives the single-image containers of
// k8s-smoke.test.ts. Skipped, with the reason printed, where no Docker engine answers or the images are not built
// (`npm run images`); TASKJET_REQUIRE_CONTAINERS=1 (CI) turns that into a failure.
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@taskjet/testing";
import { freePort, http, NATS_IMAGE, sh, TASKJET_IMAGE, whyNoContainers } from "./support.js";

const reason = await whyNoContainers("deploy/test/containers/compose.test.ts", [TASKJET_IMAGE, NATS_IMAGE]);

interface Job {
  id: string;
  status: string;
  triggerCount: number;
  maxCount: number;
  jobType: string;
}
interface LogEntry {
  fireId: string;
  nominalTime: string;
  outcome: string;
  reason?: string;
  node?: string;
}
interface Status {
  scheduler: { leader?: { replicaId: string; epoch: number } };
}

const taskjetServices = ["scheduler-1", "scheduler-2", "worker-n1", "worker-n2", "gateway"] as const;
const natsServices = ["nats-1", "nats-2", "nats-3"] as const;

describe.skipIf(reason)("docker-compose stack on local images", () => {
  const project = `tjc${randomBytes(4).toString("hex")}`;
  const token = `token-${randomBytes(8).toString("hex")}`;
  const ports: Record<string, number> = {};
  let env: NodeJS.ProcessEnv = {};
  let failed = false;
  const compose = (...args: string[]) =>
    sh(
      "docker-compose",
      ["-p", project, "-f", "docker-compose.yml", "-f", "docker-compose.local.yml", ...args],
      {
        env,
        timeoutMs: 240_000,
      },
    );
  const containerOf = async (service: string) => (await compose("ps", "-q", service)).trim();
  const gw = (path: string, opts: { body?: unknown; method?: string } = {}) =>
    http(`http://127.0.0.1:${ports["GATEWAY_PORT"]}${path}`, { ...opts, token });
  // right after a NATS server kill a stream may have no leader for a few seconds: the gateway answers 503
  // (retryable), so these ask again until they get an answer
  const answered = <T>(path: string, pick: (body: unknown) => T) =>
    waitFor(
      async () => {
        const r = await gw(path);
        return r.status === 200 ? { value: pick(r.body) } : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, message: `GET ${path} answered 200` },
    ).then((r) => r.value);
  const job = (id: string) => answered(`/v1/jobs/${id}`, (b) => (b as { job: Job }).job);
  const logs = (id: string) =>
    answered(`/v1/jobs/${id}/logs?limit=1000`, (b) => (b as { entries: LogEntry[] }).entries);
  const status = async () => {
    const r = await gw("/v1/status");
    return r.status === 200 ? (r.body as Status) : undefined;
  };
  const jsz = async (service: string) =>
    (
      await http(
        `http://127.0.0.1:${ports[`NATS_MONITOR_PORT_${service.slice(-1)}`]}/jsz?accounts=true&streams=true&config=true`,
      )
    ).body as {
      account_details?: {
        stream_detail?: { name: string; config: { num_replicas: number }; cluster?: { leader?: string } }[];
      }[];
    };

  beforeAll(async () => {
    const names = [
      ...[1, 2, 3].flatMap((i) => [`NATS_PORT_${i}`, `NATS_CLUSTER_PORT_${i}`, `NATS_MONITOR_PORT_${i}`]),
      "SCHEDULER_1_PORT",
      "SCHEDULER_2_PORT",
      "WORKER_N1_PORT",
      "WORKER_N2_PORT",
      "GATEWAY_PORT",
    ];
    const taken = new Set<number>();
    for (const name of names) {
      let port = await freePort();
      while (taken.has(port)) port = await freePort();
      taken.add(port);
      ports[name] = port;
    }
    env = {
      ...process.env,
      ...Object.fromEntries(names.map((n) => [`TASKJET_STACK_${n}`, String(ports[n])])),
      ...Object.fromEntries(
        ["SCHEDULER", "WORKER_N1", "WORKER_N2", "GATEWAY", "TENANT_ACME", "TENANT_GLOBEX"].map((r) => [
          `TASKJET_${r}_PASSWORD`,
          // nats-server parses a $VARIABLE's value as config: one starting with a digit is not a string
          `pw-${randomBytes(12).toString("hex")}`,
        ]),
      ),
      TASKJET_GATEWAY_TOKEN: token,
      TASKJET_IMAGE,
      TASKJET_NATS_IMAGE: NATS_IMAGE,
    };
    const started = Date.now();
    await compose("up", "-d", "--no-build");
    console.log(`compose.test: ${project} up in ${Date.now() - started} ms, ports ${JSON.stringify(ports)}`);
  }, 300_000);

  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail") failed = true;
  });

  afterAll(async () => {
    if (!env["TASKJET_IMAGE"]) return;
    if (failed) {
      // the whole log to a file (CI prints only the end of the output), the last lines here
      const all = await compose("logs", "--no-color", "--timestamps").catch((e: Error) => e.message);
      const file = join(tmpdir(), `${project}-compose.log`);
      await writeFile(file, all);
      console.log(`compose.test: full logs in ${file}; the last lines of each service:`);
      console.log(await compose("logs", "--no-color", "--tail=40").catch((e: Error) => e.message));
    }
    await compose("down", "-v", "--timeout", "5").catch((e: Error) => console.warn(e.message));
  }, 120_000);

  it("comes up: every service healthy and ready, R3 streams, the demo job queued and running", async () => {
    const gatewayReady = (timeoutMs: number) =>
      waitFor(async () => (await http(`http://127.0.0.1:${ports["GATEWAY_PORT"]}/readyz`)).status === 200, {
        timeoutMs,
        intervalMs: 500,
        message: "gateway /readyz",
      });
    // Seen once in nine fresh starts here: the 2.10.27 cluster kept answering "no suitable peers for
    // placement" to every R3 create for minutes after electing its meta leader, the schedulers exiting
    // (restart: on-failure) until it placed. Restarting the NATS servers once got it placing (as a fresh
    // cluster does in @taskjet/testing's startCluster); counted and printed, not hidden.
    const placementStuck = async () =>
      /no suitable peers for placement/.test(await compose("logs", "--no-color", "--tail=5", "scheduler-1"));
    try {
      await gatewayReady(90_000);
    } catch (err) {
      if (!(await placementStuck())) throw err;
      console.warn(
        "compose.test: the NATS cluster placed no R3 stream for 90 s; restarting its servers once",
      );
      await compose("restart", "nats-1", "nats-2", "nats-3");
      await gatewayReady(150_000);
    }
    for (const [service, port] of [
      ["scheduler-1", "SCHEDULER_1_PORT"],
      ["scheduler-2", "SCHEDULER_2_PORT"],
      ["worker-n1", "WORKER_N1_PORT"],
      ["worker-n2", "WORKER_N2_PORT"],
    ] as const) {
      await waitFor(async () => (await http(`http://127.0.0.1:${ports[port]}/readyz`)).status === 200, {
        timeoutMs: 60_000,
        intervalMs: 500,
        message: `${service} /readyz`,
      });
    }
    // the image's HEALTHCHECK, as Docker runs it
    for (const service of taskjetServices) {
      const id = await containerOf(service);
      await waitFor(
        async () =>
          (await sh("docker", ["inspect", "--format", "{{.State.Health.Status}}", id])).trim() === "healthy",
        { timeoutMs: 60_000, intervalMs: 1000, message: `${service} healthy` },
      );
    }
    const demo = await containerOf("demo");
    await waitFor(
      async () =>
        (
          await sh("docker", ["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", demo])
        ).trim() === "exited 0",
      { timeoutMs: 60_000, intervalMs: 500, message: "demo queued its job and exited 0" },
    );
    await waitFor(async () => ((await job("demo").catch(() => undefined))?.triggerCount ?? 0) >= 2, {
      timeoutMs: 30_000,
      intervalMs: 500,
      message: "the demo job runs",
    });
    const streams = (await jsz("nats-1")).account_details?.flatMap((a) => a.stream_detail ?? []) ?? [];
    expect(streams.map((s) => s.name)).toContain("taskjet-run");
    for (const s of streams) expect(s.config.num_replicas, s.name).toBe(3);
  }, 480_000);

  it("runs every queued job exactly as often as it should across a scheduler kill and a NATS server kill", async () => {
    const run = randomBytes(3).toString("hex");
    const now = Date.now();
    const onceJobs = Array.from({ length: 30 }, (_, i) => ({
      id: `once-${run}-${i}`,
      name: `once ${run} ${i}`,
      type: "console",
      args: { message: `once ${i}` },
      jobType: "once",
      // 10 at once, 20 due over the next 40 s: those are fired by the scheduler, across the kills
      ...(i < 10 ? {} : { beginTime: new Date(now + (i - 9) * 2000).toISOString() }),
      ...(i % 3 === 0 ? { nodeName: "n1" } : i % 3 === 1 ? { nodeName: "n2" } : {}),
    }));
    const maxCount = 40;
    const everySecond = ["n1", "n2", undefined].map((node, i) => ({
      id: `every-${run}-${i}`,
      name: `every second ${run} ${i}`,
      type: "console",
      args: { message: `every second ${i}` },
      jobType: "persistent",
      intervalSeconds: 1,
      maxCount,
      ...(node ? { nodeName: node } : {}),
    }));
    for (const body of [...everySecond, ...onceJobs]) {
      const r = await gw("/v1/jobs", { body });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    await waitFor(async () => (await job(everySecond[0]!.id)).triggerCount >= 3, {
      timeoutMs: 30_000,
      intervalMs: 250,
      message: "recurring jobs fire",
    });

    // kill the leading scheduler: the other takes over within a lease time and resumes from the fire cursor
    const before = (await status())!.scheduler.leader!;
    const leaderContainer = await containerOf(before.replicaId);
    await sh("docker", ["kill", "--signal", "KILL", leaderContainer]);
    const after = await waitFor(
      async () => {
        const leader = (await status())?.scheduler.leader;
        return leader && leader.replicaId !== before.replicaId && leader;
      },
      { timeoutMs: 30_000, intervalMs: 250, message: "a new leader" },
    );
    expect(after.epoch).toBeGreaterThan(before.epoch);
    console.log(
      `compose.test: killed leader ${before.replicaId} (epoch ${before.epoch}); ${after.replicaId} leads (epoch ${after.epoch})`,
    );

    // kill the NATS server that leads the run stream: the stream elects another leader on the other two
    const live = natsServices;
    const runLeader = await waitFor(
      async () => {
        for (const s of live) {
          const st = (await jsz(s).catch(() => undefined))?.account_details
            ?.flatMap((a) => a.stream_detail ?? [])
            .find((d) => d.name === "taskjet-run");
          if (st?.cluster?.leader) return st.cluster.leader;
        }
        return undefined;
      },
      { timeoutMs: 10_000, message: "the run stream's leader" },
    );
    expect(natsServices).toContain(runLeader);
    const natsContainer = await containerOf(runLeader);
    const countBefore = (await job(everySecond[2]!.id)).triggerCount;
    await sh("docker", ["kill", "--signal", "KILL", natsContainer]);
    console.log(
      `compose.test: killed ${runLeader} (leader of taskjet-run) at fire ${countBefore} of ${maxCount}`,
    );
    // work goes on with two of three servers
    await waitFor(
      async () =>
        ((await job(everySecond[2]!.id).catch(() => undefined))?.triggerCount ?? 0) >= countBefore + 3,
      {
        timeoutMs: 30_000,
        intervalMs: 250,
        message: "fires continue with a NATS server down",
      },
    );
    await sh("docker", ["start", natsContainer]);
    await waitFor(
      async () =>
        (await http(`http://127.0.0.1:${ports[`NATS_MONITOR_PORT_${runLeader.slice(-1)}`]}/healthz`))
          .status === 200,
      { timeoutMs: 60_000, intervalMs: 500, message: `${runLeader} back` },
    );

    const all = [...everySecond, ...onceJobs];
    await waitFor(
      async () => {
        for (const j of all) if ((await job(j.id)).status !== "completed") return false;
        return true;
      },
      { timeoutMs: 150_000, intervalMs: 1000, message: "every job completed" },
    );
    // What ran: the console handler logs one line per run it executes (with the job id and the fire id,
    // `<tenant>.<job>:<nominal ms>`) to the worker container's stdout. That is the record of executions;
    // the store says what was counted, the run log what was reported.
    const runs = new Map<string, string[]>();
    const runLogWarnings: string[] = [];
    for (const service of ["worker-n1", "worker-n2"]) {
      const out = await sh("docker", ["logs", await containerOf(service)]);
      for (const line of out.split("\n")) {
        if (!line.startsWith("{")) continue;
        const rec = JSON.parse(line) as { jobId?: string; fireId?: string; msg?: string; message?: string };
        if (/run log/i.test(line) && !rec.jobId?.startsWith("demo")) runLogWarnings.push(line.slice(0, 300));
        if (rec.jobId && rec.fireId && rec.message !== undefined && rec.msg === rec.message) {
          runs.set(rec.jobId, [...(runs.get(rec.jobId) ?? []), rec.fireId]);
        }
      }
    }
    const problems: string[] = [];
    let runLogMissing = 0;
    for (const j of all) {
      const expected = j.jobType === "once" ? 1 : maxCount;
      const executed = runs.get(j.id) ?? [];
      const { triggerCount } = await job(j.id);
      if (triggerCount !== expected)
        problems.push(`${j.id}: triggerCount ${triggerCount}, expected ${expected}`);
      if (executed.length !== expected || new Set(executed).size !== expected) {
        problems.push(
          `${j.id}: executed ${executed.length} times (${new Set(executed).size} distinct fires), expected ${expected}`,
        );
      }
      const entries = await logs(j.id);
      const succeeded = entries.filter((e) => e.outcome === "succeeded");
      // a fire that came back after its run finished (its ack lost with the killed NATS server) is acked
      // unrun and logged skipped, reason "finished": effectively once, so it must name a fire that succeeded
      const caught = entries.filter((e) => e.outcome === "skipped" && e.reason === "finished");
      for (const e of caught) {
        if (!succeeded.some((s) => s.fireId === e.fireId))
          problems.push(`${j.id}: ${e.fireId} skipped as finished, but never succeeded`);
      }
      const other = entries.filter(
        (e) => e.outcome !== "succeeded" && e.outcome !== "started" && !caught.includes(e),
      );
      if (new Set(succeeded.map((e) => e.fireId)).size !== succeeded.length || other.length) {
        problems.push(`${j.id}: run log ${JSON.stringify(entries.map((e) => [e.fireId, e.outcome]))}`);
      }
      for (const e of succeeded) {
        if (!executed.includes(e.fireId))
          problems.push(`${j.id}: run log names ${e.fireId}, which never ran`);
      }
      runLogMissing += expected - succeeded.length;
    }
    expect(problems).toEqual([]);
    if (runLogMissing) {
      // a run-log entry is appended after the run; one whose append failed while its NATS server was killed
      // is missing from the log although the fire ran (counted above): history, not a job or a fire
      console.warn(
        `compose.test: ${runLogMissing} run-log entries missing after the NATS kill (the runs happened); ` +
          `worker lines about the run log: ${JSON.stringify(runLogWarnings.slice(0, 5))}`,
      );
    }
    // the demo job kept firing through both kills, each fire once
    const demoRuns = runs.get("demo") ?? [];
    expect(new Set(demoRuns).size).toBe(demoRuns.length);
    expect(demoRuns.length).toBeGreaterThanOrEqual(10);
    console.log(
      `compose.test: ${onceJobs.length} once jobs ran once each, ${everySecond.length} recurring jobs ${maxCount} fires each, ` +
        `demo ${demoRuns.length} fires; none twice, none lost`,
    );
  }, 300_000);

  it("every taskjet container stops gracefully on SIGTERM (exit code 0, within its stop grace period)", async () => {
    const running: string[] = [];
    for (const service of taskjetServices) {
      const id = await containerOf(service);
      if ((await sh("docker", ["inspect", "--format", "{{.State.Running}}", id])).trim() === "true")
        running.push(service);
    }
    // the killed leader stays down; the other four at least
    expect(running.length).toBeGreaterThanOrEqual(4);
    const started = Date.now();
    await compose("stop", "--timeout", "30", ...running);
    const tookMs = Date.now() - started;
    for (const service of running) {
      const id = await containerOf(service);
      const [status, code] = (
        await sh("docker", ["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", id])
      )
        .trim()
        .split(" ");
      expect(`${service} ${status} ${code}`).toBe(`${service} exited 0`);
    }
    expect(tookMs).toBeLessThan(30_000);
    console.log(`compose.test: ${running.join(", ")} stopped on SIGTERM in ${tookMs} ms, exit code 0`);
  }, 120_000);
});
