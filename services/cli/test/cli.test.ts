import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName, waitFor, withDeadline } from "@taskjet/testing";
import { startStack, type Stack } from "@taskjet/test-stack";
import { assertBuilt, cleanEnv, LiveCli, runCli } from "./cliHarness.js";

const future = () => new Date(Date.now() + 3600_000).toISOString();

describe("taskjet cron (pure, no NATS)", () => {
  beforeAll(assertBuilt);
  const env = cleanEnv({});

  it("lists the next fire times and marks the DST shift", async () => {
    const r = await runCli(
      ["cron", "0 30 2 * * ?", "--tz", "Europe/Berlin", "--count", "3", "--after", "2026-03-27T12:00:00Z"],
      { env },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^#\s+UTC\s+LOCAL \(Europe\/Berlin\)\s+OFFSET\s+DST/);
    expect(lines[1]).toContain("2026-03-28T01:30:00.000Z");
    expect(lines[2]).toContain("+02:00");
    expect(lines[2]).toContain("DST shift +01:00 -> +02:00");
    expect(lines[3]).not.toContain("DST");
  });

  it("--json, and standard dialect", async () => {
    const r = await runCli(
      [
        "cron",
        "*/15 * * * *",
        "--dialect",
        "standard",
        "--count",
        "2",
        "--after",
        "2026-01-01T00:00:00Z",
        "--json",
      ],
      { env },
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).map((f: { iso: string }) => f.iso)).toEqual([
      "2026-01-01T00:15:00.000Z",
      "2026-01-01T00:30:00.000Z",
    ]);
  });

  it("bad expressions and flags exit 2 with the error code and field", async () => {
    const bad = await runCli(["cron", "0 0 25 * * ?"], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error INVALID_ARGUMENT \(cron\): /);
    const hint = await runCli(["cron", "*/5 * * * *"], { env });
    expect(hint.code).toBe(2);
    expect(hint.stderr).toMatch(/standard/);
    const tz = await runCli(["cron", "0 0 * * * ?", "--tz", "Mars/Olympus"], { env });
    expect(tz.code).toBe(2);
    expect(tz.stderr).toMatch(/^error INVALID_ARGUMENT \(timeZone\): /);
    const count = await runCli(["cron", "0 0 * * * ?", "--count", "0"], { env });
    expect(count.code).toBe(2);
    expect(count.stderr).toMatch(/\(count\)/);
    const usage = await runCli(["cron"], { env });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^error INVALID_ARGUMENT \(usage\): missing required argument/);
    const unknown = await runCli(["frobnicate"], { env });
    expect(unknown.code).toBe(2);
    const help = await runCli(["--help"], { env });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes/);
  });
});

describe("taskjet management commands against a real scheduler", () => {
  let stack: Stack;
  let env: NodeJS.ProcessEnv;
  const dir = mkdtempSync(join(tmpdir(), "taskjet-cli-"));
  const file = (name: string, content: string) => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const cli = (args: string[], input?: string) =>
    runCli(args, { env, ...(input !== undefined ? { input } : {}) });

  beforeAll(async () => {
    assertBuilt();
    stack = await startStack({
      worker: true,
      node: "n1",
      register: (w) => w.register("echo", async (ctx) => ctx.args),
    });
    env = cleanEnv({ NATS_URL: stack.nats.url, TASKJET_PREFIX: stack.prefix });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("printable type and group names as written; a warning on stderr for an unregistered type", async () => {
    const group = `Billing: ${uniqueName("g")}`;
    const id = uniqueName("named");
    const type = "My.Company.Jobs.ConsoleJob, My.Company.Jobs";
    const r = await cli(["queue", "-"], JSON.stringify({ id, name: "n", group, type, beginTime: future() }));
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`created ${id}`);
    expect(r.stderr).toContain(`warning: no worker has registered type "${type}" yet`);
    const listed = await cli(["list", "--type", type, "--group", group, "--json"]);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { jobs: { id: string; type: string }[] }).jobs).toEqual([
      expect.objectContaining({ id, type, group }),
    ]);
    const shown = await cli(["get", id]);
    expect(shown.stdout).toContain(type);
  });

  it("get shows which cron dialect and DST rule a period job uses", async () => {
    const id = uniqueName("dstshown");
    const job = {
      id,
      name: "d",
      type: "echo",
      jobType: "period",
      cron: "0 30 2 * * ?",
      timeZone: "Europe/Berlin",
    };
    expect((await cli(["queue", "-"], JSON.stringify({ ...job, dstRule: "quartz" }))).code).toBe(0);
    const shown = await cli(["get", id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^cron:\s+quartz dialect, DST rule quartz$/m);
    const other = uniqueName("dstdefault");
    expect((await cli(["queue", "-"], JSON.stringify({ ...job, id: other }))).code).toBe(0);
    expect((await cli(["get", other])).stdout).toMatch(/^cron:\s+quartz dialect, DST rule single-value$/m);
    await cli(["remove", "--force", id, other]);
  });

  it("queue of an immediate once job takes the fast lane: no stored record while it waits, get/list/remove see it, it runs", async () => {
    const waits = uniqueName("fastwait");
    const type = uniqueName("nobody");
    const q = await cli(["queue", "-"], JSON.stringify({ id: waits, name: "w", type }));
    expect(q.code).toBe(0);
    expect(q.stdout.trim()).toBe(`created ${waits}`);
    expect(q.stderr).toContain(`warning: no worker has registered type "${type}" yet`);
    // nothing in the scheduler's view: the job is its message in the run stream
    expect(stack.scheduler.index().byId("default", waits)).toBeUndefined();
    const got = await cli(["get", waits, "--json"]);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ id: waits, type, status: "queuing", revision: 0 });
    const listed = await cli(["list", "--type", type, "--json"]);
    expect((JSON.parse(listed.stdout) as { jobs: { id: string }[] }).jobs.map((j) => j.id)).toEqual([waits]);
    expect((await cli(["remove", "--force", waits])).code).toBe(0);
    expect(await stack.client.scheduler.exists(waits)).toBe(false);

    const runs = uniqueName("fastrun");
    const r = await cli(
      ["queue", "-"],
      JSON.stringify({ id: runs, name: "r", type: "echo", args: { v: 1 } }),
    );
    expect(r.code).toBe(0);
    await waitFor(
      async () => (await stack.client.scheduler.get(runs).catch(() => undefined))?.status === "completed",
      {
        message: "the fast-lane job ran",
      },
    );
  });

  it("queue (file, array, stdin), get, list with filters and --json", async () => {
    const group = uniqueName("g");
    const one = await cli([
      "queue",
      file(
        "one.json",
        JSON.stringify({ id: `${group}-a`, name: "a", group, type: "echo", beginTime: future() }),
      ),
    ]);
    expect(one.stderr).toBe("");
    expect(one.code).toBe(0);
    expect(one.stdout.trim()).toBe(`created ${group}-a`);
    const again = await cli(["queue", join(dir, "one.json")]);
    expect(again.stdout.trim()).toBe(`exists ${group}-a`);
    const many = await cli([
      "queue",
      file(
        "many.json",
        JSON.stringify(
          [1, 2].map((i) => ({
            id: `${group}-m${i}`,
            name: `m${i}`,
            group,
            type: "echo",
            jobType: "persistent",
            intervalSeconds: 3600,
            beginTime: future(),
          })),
        ),
      ),
    ]);
    expect(many.code).toBe(0);
    expect(many.stdout).toMatch(new RegExp(`${group}-m1\\s+created`));
    const stdin = await cli(
      ["queue", "-", "--json"],
      JSON.stringify({ id: `${group}-s`, name: "s", group, type: "echo", beginTime: future() }),
    );
    expect(stdin.code).toBe(0);
    expect(JSON.parse(stdin.stdout)).toMatchObject({ id: `${group}-s`, created: true });

    const get = await cli(["get", `${group}-m1`]);
    expect(get.code).toBe(0);
    expect(get.stdout).toMatch(/^id:\s+\S+-m1$/m);
    expect(get.stdout).toMatch(/^schedule:\s+every 3600s$/m);
    const getJson = await cli(["get", `${group}-m1`, "--json"]);
    expect(JSON.parse(getJson.stdout)).toMatchObject({ id: `${group}-m1`, jobType: "persistent" });

    const list = await cli(["list", "--group", group]);
    expect(list.code).toBe(0);
    expect(list.stdout.split("\n")[0]).toMatch(/^ID\s+NAME\s+GROUP\s+TYPE\s+STATUS/);
    expect(list.stdout.trim().split("\n")).toHaveLength(5);
    expect(list.stderr).toMatch(/4 of 4 jobs/);
    const filtered = await cli(["list", "--group", group, "--job-type", "persistent", "--json"]);
    expect(JSON.parse(filtered.stdout).total).toBe(2);
    const paged = await cli(["list", "--group", group, "--limit", "3", "--json"]);
    expect(JSON.parse(paged.stdout)).toMatchObject({ total: 4, nextOffset: 3 });
  });

  it("trigger, pause, resume, stop, start, remove; logs; status", async () => {
    const group = uniqueName("g");
    const ids = [`${group}-1`, `${group}-2`];
    await stack.client.scheduler.queueMany(
      ids.map((id) => ({ id, name: id, group, type: "echo", beginTime: future() })),
    );
    const pause = await cli(["pause", ...ids]);
    expect(pause.code).toBe(0);
    expect(pause.stdout).toMatch(new RegExp(`${ids[0]}\\s+ok`));
    expect((await stack.client.scheduler.get(ids[1]!)).status).toBe("paused");
    expect((await cli(["resume", "--group", group])).code).toBe(0);
    expect((await stack.client.scheduler.get(ids[1]!)).status).not.toBe("paused");
    expect((await cli(["stop", ids[0]!])).code).toBe(0);
    expect((await stack.client.scheduler.get(ids[0]!)).status).toBe("stopped");
    expect((await cli(["start", ids[0]!, "--json"])).code).toBe(0);
    expect((await stack.client.scheduler.get(ids[0]!)).status).not.toBe("stopped");

    expect((await cli(["trigger", ids[1]!])).code).toBe(0);
    const logs = await waitFor(
      async () => {
        const r = await cli(["logs", ids[1]!, "--limit", "5"]);
        return r.stdout.includes("succeeded") ? r : undefined;
      },
      { timeoutMs: 20_000, message: "logs show the triggered run" },
    );
    expect(logs.stdout.split("\n")[0]).toMatch(/^FINISHED\s+NOMINAL\s+ATTEMPT\s+OUTCOME/);

    const status = await cli(["status"]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^leader: \S+ +host \S+ +pid \d+ +epoch \d+/m);
    expect(status.stdout).toMatch(/workers \(\d+ on \d+ nodes\)/);
    expect(status.stdout).toMatch(/run stream consumers:/);
    const statusJson = JSON.parse((await cli(["status", "--json"])).stdout);
    expect(statusJson.leader.epoch).toBeGreaterThan(0);
    expect(Array.isArray(statusJson.consumers)).toBe(true);

    const partly = await cli(["pause", ids[0]!, "no-such-job"]);
    expect(partly.code).toBe(1);
    expect(partly.stdout).toMatch(/no-such-job\s+error NOT_FOUND/);
    // the control API's rule, as REST applies it: a live job goes only with --force
    const rm = await cli(["remove", ...ids]);
    expect(rm.code).toBe(1);
    expect(rm.stdout).toMatch(new RegExp(`${ids[0]}\\s+error FAILED_PRECONDITION: .* is paused: stop it`));
    expect(rm.stdout).toMatch(new RegExp(`${ids[1]}\\s+ok`)); // completed: its schedule has ended
    expect(await stack.client.scheduler.exists(ids[0]!)).toBe(true);
    const forced = await cli(["remove", "--force", ids[0]!]);
    expect(forced.code).toBe(0);
    expect(await stack.client.scheduler.exists(ids[0]!)).toBe(false);
    // no ids and no filter: --all is needed, and it goes as all: true (an empty filter is refused)
    const bare = await cli(["pause"]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(
      /error INVALID_ARGUMENT \(ids\): name the jobs to pause: ids, filter flags, or --all/,
    );
    expect((await cli(["pause", "--all", "--group", group])).stderr).toMatch(/INVALID_ARGUMENT \(all\)/);
  });

  it("events tails until Ctrl-C and exits 0", async () => {
    const id = uniqueName("ev");
    await stack.client.scheduler.queue({ id, name: "ev", type: "echo", beginTime: future() });
    const live = new LiveCli(["events", "--job", id], { env });
    await waitFor(() => live.stderr.includes("listening"), {
      timeoutMs: 15_000,
      message: "events subscribed",
    });
    await stack.client.scheduler.trigger(id);
    await waitFor(() => /after\s+\S+ default\/echo/.test(live.stdout), {
      timeoutMs: 15_000,
      message: "after event printed",
    });
    expect(live.stdout).toMatch(new RegExp(`before\\s+${id} default/echo`));
    live.child.kill("SIGINT");
    const { code } = await withDeadline(live.exited, 10_000, "events exits on SIGINT");
    expect(code).toBe(0);
  });

  it("bad input exits 2 with the typed error and changes nothing; failures exit 1", async () => {
    const keep = uniqueName("keep");
    await stack.client.scheduler.queue({ id: keep, name: keep, type: "echo", beginTime: future() });
    const before = await stack.snapshot();
    const badJson = await cli(["queue", file("bad.json", "{ nope")]);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/^error DECODE_ERROR \(file\): /);
    const badJob = await cli([
      "queue",
      file(
        "badjob.json",
        JSON.stringify({ name: "x", type: "echo", jobType: "period", cron: "0 0 25 * * ?" }),
      ),
    ]);
    expect(badJob.code).toBe(2);
    expect(badJob.stderr).toMatch(/^error INVALID_ARGUMENT \(cron\): /);
    const badMany = await cli(
      ["queue", "-"],
      JSON.stringify([
        { name: "ok", type: "echo" },
        { name: "x", type: "no\nway" },
      ]),
    );
    expect(badMany.code).toBe(2);
    expect(badMany.stderr).toMatch(/\(jobs\.1\.type\)/);
    const missingFile = await cli(["queue", join(dir, "nope.json")]);
    expect(missingFile.code).toBe(2);
    const noTarget = await cli(["pause"]);
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toMatch(/\(ids\)/);
    const badStatus = await cli(["list", "--status", "sleeping"]);
    expect(badStatus.code).toBe(2);
    expect(badStatus.stderr).toMatch(/\(status\)/);
    const badTimeout = await cli(["list", "--timeout", "soon"]);
    expect(badTimeout.code).toBe(2);
    expect(badTimeout.stderr).toMatch(/^error INVALID_ARGUMENT \(timeout\)/);
    const badTenant = await cli(["list", "--tenant", "a.b"]);
    expect(badTenant.code).toBe(2);
    const badCreds = await cli(["list", "--creds", join(dir, "missing.creds")]);
    expect(badCreds.code).toBe(2);
    expect(badCreds.stderr).toMatch(/\(creds\)/);
    const badOption = await cli(["list", "--colour", "red"]);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toMatch(/^error INVALID_ARGUMENT \(usage\): unknown option/);

    const missing = await cli(["get", "no-such-job"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error NOT_FOUND/);
    const missingJson = await cli(["get", "no-such-job", "--json"]);
    expect(JSON.parse(missingJson.stdout).error.code).toBe("NOT_FOUND");
    const noScheduler = await runCli(["list"], { env: { ...env, TASKJET_PREFIX: uniqueName("none") } });
    expect(noScheduler.code).toBe(1);
    expect(noScheduler.stderr).toMatch(/^error UNAVAILABLE/);
    const noNats = await runCli(["list", "--server", "nats://127.0.0.1:1"], { env });
    expect(noNats.code).toBe(1);
    expect(noNats.stderr).toMatch(/^error UNAVAILABLE \(server\)/);

    expect(await stack.snapshot()).toEqual(before);
  });
});

describe("taskjet scheduler and gateway service commands", () => {
  let stack: Stack;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    assertBuilt();
    stack = await startStack();
    env = cleanEnv({ NATS_URL: stack.nats.url, TASKJET_PREFIX: stack.prefix, TASKJET_LOG_LEVEL: "warn" });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("scheduler runs a replica until SIGINT and exits 0", async () => {
    const replicaId = uniqueName("cli-replica");
    const live = new LiveCli(["scheduler", "--replica-id", replicaId], { env });
    try {
      await waitFor(
        async () => (await stack.client.scheduler.status()).replicas.some((r) => r.replicaId === replicaId),
        { timeoutMs: 20_000, message: `replica ${replicaId} in status (stderr: ${live.stderr})` },
      );
      expect(live.stderr).toMatch(/taskjet scheduler running/);
      live.child.kill("SIGINT");
      const { code } = await withDeadline(live.exited, 20_000, "scheduler exits on SIGINT");
      expect(code).toBe(0);
    } finally {
      if (live.child.exitCode === null) live.child.kill("SIGKILL");
    }
  });

  it("a service that cannot reach NATS exits 1 with UNAVAILABLE naming the servers", async () => {
    for (const args of [["scheduler"], ["worker", "--node", "n1"]]) {
      const down = await runCli([...args, "--server", "nats://127.0.0.1:1"], { env });
      expect(down.code, args[0]).toBe(1);
      expect(down.stderr).toMatch(
        /^error UNAVAILABLE \(server\): cannot reach NATS at nats:\/\/127\.0\.0\.1:1/m,
      );
    }
  });

  it("gateway refuses to start without a token, serves with one, stops on SIGTERM", async () => {
    const refused = await runCli(["gateway", "--port", "0"], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /^error INVALID_ARGUMENT \(tokens\): the gateway needs at least one bearer token/m,
    );
    const badPort = await runCli(["gateway", "--port", "99999", "--insecure-dev"], { env });
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toMatch(/\(port\)/);

    const live = new LiveCli(
      ["gateway", "--port", "0", "--host", "127.0.0.1", "--token", "cli-test-token-1"],
      {
        env,
      },
    );
    try {
      const url = await waitFor(() => /listening on (http:\/\/\S+);/.exec(live.stderr)?.[1], {
        timeoutMs: 20_000,
        message: `gateway URL (stderr: ${live.stderr})`,
      });
      expect((await fetch(`${url}/v1/jobs`)).status).toBe(401);
      const ok = await fetch(`${url}/v1/jobs`, { headers: { authorization: "Bearer cli-test-token-1" } });
      expect(ok.status).toBe(200);
      live.child.kill("SIGTERM");
      const { code } = await withDeadline(live.exited, 20_000, "gateway exits on SIGTERM");
      expect(code).toBe(0);
    } finally {
      if (live.child.exitCode === null) live.child.kill("SIGKILL");
    }
  });

  it("worker runs a node with built-ins and a --handlers module until SIGINT", async () => {
    const dir = mkdtempSync(join(tmpdir(), "taskjet-handlers-"));
    const module = join(dir, "handlers.mjs");
    writeFileSync(
      module,
      'export function register(worker) { worker.register("shout", async (ctx) => ({ loud: String(ctx.args.text).toUpperCase() })); }\n',
    );
    const node = uniqueName("node");
    const live = new LiveCli(["worker", "--node", node, "--handlers", module, "--concurrency", "2"], { env });
    try {
      await waitFor(() => live.stderr.includes(`taskjet worker running on node ${node}`), {
        timeoutMs: 20_000,
        message: `worker banner (stderr: ${live.stderr})`,
      });
      const sub = stack.client.events.subscribe({ type: "shout", phases: "after" });
      await sub.ready();
      const { id } = await stack.client.dispatcher.dispatch(node, {
        name: "shout",
        type: "shout",
        args: { text: "hi" },
      });
      for await (const e of sub) {
        if (e.jobId !== id) continue;
        expect(e.data.result).toEqual({ loud: "HI" });
        expect(e.data.node).toBe(node);
        break;
      }
      await sub.close();
      const st = await stack.client.scheduler.status();
      expect(st.workers.find((w) => w.node === node)).toMatchObject({ concurrency: 2 });
      live.child.kill("SIGINT");
      const { code } = await withDeadline(live.exited, 20_000, "worker exits on SIGINT");
      expect(code).toBe(0);
    } finally {
      if (live.child.exitCode === null) live.child.kill("SIGKILL");
    }
    const bad = await runCli(["worker", "--node", "bad node"], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error INVALID_ARGUMENT \(node\)/);
    const badModule = await runCli(["worker", "--node", "n", "--handlers", join(dir, "missing.mjs")], {
      env,
    });
    expect(badModule.code).toBe(2);
    expect(badModule.stderr).toMatch(/^error INVALID_ARGUMENT \(handlers\)/);
  });
});
