/**
 * The Go examples of docs/examples/go, built with Debian's nats.go and msgpack (GO111MODULE=off, GOPATH
 * /usr/share/gocode) and run against a real nats-server and scheduler: the client queues a job and follows
 * its events, the worker runs it and writes the outcome as docs/protocol.md says; the store, run log and
 * counters are then read back through the TypeScript client. This is the proof that protocol.md is enough
 * to write both in another language. Skipped, with the reason printed, only where `go` is missing (.ci/run
 * installs it); a Go package missing where go exists is a build failure, not a skip.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Kvm } from "@nats-io/kv";
import { waitFor } from "@taskjet/testing";
import { startStack, type Stack } from "@taskjet/test-stack";

const root = fileURLToPath(new URL("..", import.meta.url));
const hasGo = spawnSync("go", ["version"]).status === 0;
if (!hasGo && process.env["CI"])
  throw new Error("CI needs go for the Go examples test (.ci/run installs golang-go)");
if (!hasGo) console.log("Go examples test skipped: no go on PATH (.ci/run installs golang-go)");

const goEnv = {
  ...process.env,
  GO111MODULE: "off",
  GOPATH: "/usr/share/gocode",
  GOFLAGS: "",
  // go needs a build cache; CI's environment may have no HOME
  GOCACHE: process.env["GOCACHE"] ?? join(tmpdir(), "taskjet-go-build-cache"),
};
const NODE = "go1";
const JSON_NODE = "go2";

describe.skipIf(!hasGo)("Go examples (docs/examples/go)", () => {
  let stack: Stack;
  let bin: string;
  const workers: ChildProcess[] = [];
  let workerLog = "";
  const env = () => ({ ...process.env, NATS_URL: stack.nats.url, TASKJET_PREFIX: stack.prefix });

  beforeAll(async () => {
    bin = mkdtempSync(join(tmpdir(), "taskjet-go-"));
    for (const name of ["worker", "client"]) {
      const built = spawnSync("go", ["build", "-o", join(bin, name), `./docs/examples/go/${name}`], {
        cwd: root,
        env: goEnv,
        encoding: "utf8",
      });
      expect(built.status, `go build ${name}: ${built.stderr}`).toBe(0);
    }
    // node go2's fires are JSON (the scheduler's jsonFires), go1's msgpack: the worker reads both
    stack = await startStack({
      schedulerOptions: { jsonFires: { nodes: [JSON_NODE], types: [] } },
      // the Go worker reads scheduler fires only, not fast-lane jobs (docs/protocol.md, "The fast lane")
      clientOptions: { fastLane: false },
    });
    for (const node of [NODE, JSON_NODE]) {
      const w = spawn(join(bin, "worker"), [], { env: { ...env(), TASKJET_NODE: node } });
      w.stdout!.on("data", (d: Buffer) => (workerLog += d.toString()));
      w.stderr!.on("data", (d: Buffer) => (workerLog += d.toString()));
      workers.push(w);
    }
    // the workers' registry heartbeats make them visible in the scheduler's status
    await waitFor(
      () =>
        stack.client.scheduler
          .status()
          .then((s) => [NODE, JSON_NODE].every((n) => s.workers.some((w) => w.node === n))),
      { timeoutMs: 20_000, message: "the Go workers in status.workers" },
    );
  }, 180_000);

  afterAll(async () => {
    for (const w of workers) w.kill("SIGTERM");
    await stack?.stop();
    if (bin) rmSync(bin, { recursive: true, force: true });
  });

  const runClient = (extra: Record<string, string> = {}) =>
    promisify(execFile)(join(bin, "client"), [], { env: { ...env(), ...extra }, timeout: 60_000 }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  it("the client queues a job, the Go worker runs it, the client sees its events and reads it back", async () => {
    const r = await runClient({ JOB_ARGS: '{"name":"Ada"}' });
    expect(r.code, `${r.stdout}${r.stderr}\nworker:\n${workerLog}`).toBe(0);
    expect(r.stdout).toMatch(/^queued go-\d+ \(created: true\)$/m);
    expect(r.stdout).toMatch(/^event io\.taskjet\.job\.before /m);
    expect(r.stdout).toMatch(/^event io\.taskjet\.job\.after .*: status completed$/m);
    expect(r.stdout).toMatch(/status completed, triggerCount 1, tryCount 0, result hello, Ada from Go$/m);

    // what the Go worker wrote (msgpack) reads back through the TypeScript client
    const id = /^queued (go-\d+)/m.exec(r.stdout)![1]!;
    const job = await stack.client.scheduler.get(id);
    expect(job).toMatchObject({
      status: "completed",
      result: "hello, Ada from Go",
      tryCount: 0,
      nodeName: NODE,
    });
    expect(job.doneRuns).toHaveLength(1);
    const logs = await stack.client.scheduler.logs(id);
    expect(logs.map((e) => e.outcome)).toEqual(["started", "succeeded"]);
    expect(logs[1]).toMatchObject({ worker: expect.stringMatching(/^go1-go-/), node: NODE, attempt: 1 });
  });

  it("fires in JSON (jsonFires): the worker reads them without msgpack, the outcome is the same", async () => {
    const r = await runClient({ JOB_NODE: JSON_NODE, JOB_ARGS: '{"name":"Json"}' });
    expect(r.code, `${r.stdout}${r.stderr}\nworker:\n${workerLog}`).toBe(0);
    expect(r.stdout).toMatch(/status completed, triggerCount 1, tryCount 0, result hello, Json from Go$/m);
    const id = /^queued (go-\d+)/m.exec(r.stdout)![1]!;
    expect(workerLog).toMatch(new RegExp(`fire default\\.${id}:\\d+ attempt 1 \\(application/json\\)`));
    // and go1's fires were msgpack
    expect(workerLog).toMatch(/fire default\.go-\d+:\d+ attempt 1 \(application\/msgpack\)/);
  });

  it("a failure: the client exits 1, the job waits for its retry with the error recorded", async () => {
    const r = await runClient({ JOB_ARGS: '{"fail":true}' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("the run failed: asked to fail");
    const id = /^queued (go-\d+)/m.exec(r.stdout)![1]!;
    const job = await stack.client.scheduler.get(id);
    expect(job).toMatchObject({ tryCount: 1, lastError: "asked to fail" });
    // the scheduler retries it from retryAt (attempt 2), and the Go worker runs it again
    await waitFor(async () => (await stack.client.scheduler.get(id)).tryCount >= 2, {
      timeoutMs: 20_000,
      message: "a second try",
    });
    await stack.client.scheduler.remove({ id }, { force: true });
  });

  it("an interrupt (pause) stops a run: logged aborted with the reason, the job paused, no counters", async () => {
    await stack.client.scheduler.queue({
      id: "go-slow",
      name: "slow",
      type: "greet",
      nodeName: NODE,
      args: { name: "slow", sleepMs: 60_000 },
    });
    await waitFor(
      async () => (await stack.client.scheduler.logs("go-slow")).some((e) => e.outcome === "started"),
      { message: "go-slow started" },
    );
    await stack.client.scheduler.pause({ id: "go-slow" });
    await waitFor(
      async () => (await stack.client.scheduler.logs("go-slow")).some((e) => e.outcome === "aborted"),
      { timeoutMs: 10_000, message: `go-slow aborted\n${workerLog}` },
    );
    const logs = await stack.client.scheduler.logs("go-slow");
    expect(logs.find((e) => e.outcome === "aborted")).toMatchObject({ reason: "paused" });
    expect(await stack.client.scheduler.get("go-slow")).toMatchObject({ status: "paused", tryCount: 0 });
    await stack.client.scheduler.remove({ id: "go-slow" }, { force: true });
  });

  it("counts fires as the protocol says: the worker for an unlimited job, the scheduler for a finite one", async () => {
    const base = { name: "every second", type: "greet", nodeName: NODE, args: { name: "tick" } };
    await stack.client.scheduler.queue({
      ...base,
      id: "go-every",
      jobType: "persistent",
      intervalSeconds: 1,
    });
    await stack.client.scheduler.queue({
      ...base,
      id: "go-twice",
      jobType: "persistent",
      intervalSeconds: 1,
      maxCount: 2,
      // the worker takes the job's lock and records its runs in state.running
      lockTimeoutSeconds: 30,
      overlapPolicy: "skip",
    });
    await waitFor(async () => (await stack.client.scheduler.get("go-every")).triggerCount >= 3, {
      timeoutMs: 30_000,
      message: "go-every counted 3 fires (worker-counted)",
    });
    const every = await stack.client.scheduler.get("go-every");
    expect(every.lastFireTime).toBeDefined();
    expect(every.doneRuns!.length).toBeGreaterThanOrEqual(3);

    await waitFor(
      async () => {
        const entries = await stack.client.scheduler.logs("go-twice");
        return entries.filter((e) => e.outcome === "succeeded").length === 2;
      },
      { timeoutMs: 30_000, message: "go-twice ran twice" },
    );
    // completed before its last fire ran, and that fire still ran
    const twice = await stack.client.scheduler.get("go-twice");
    expect(twice).toMatchObject({ status: "completed", triggerCount: 2, running: [] });
    const locks = await new Kvm(stack.nc).open(`${stack.prefix}-locks`);
    expect((await locks.get("default.go-twice"))?.operation).toBe("DEL"); // taken, then released
    await stack.client.scheduler.remove({ id: "go-every" }, { force: true });
  });
});
