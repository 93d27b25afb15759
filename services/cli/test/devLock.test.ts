/**
 * `taskjet dev` locks its store folder: a second run in the same folder is refused with a message saying
 * what to do, and a nats-server orphaned by a SIGKILLed run is found through the lock and stopped before
 * the next run starts its own.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor, withDeadline } from "@taskjet/testing";
import { assertBuilt, cleanEnv, LiveCli } from "./cliHarness.js";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const env = cleanEnv({ TASKJET_LOG_LEVEL: "warn" });
const args = ["dev", "--no-gateway", "--no-demo"];
const started: LiveCli[] = [];
const orphans: number[] = [];
const dirs: string[] = [];

function dev(cwd: string): LiveCli {
  const run = new LiveCli(args, { env, cwd });
  started.push(run);
  return run;
}

async function running(run: LiveCli): Promise<number> {
  await waitFor(() => run.stderr.includes("taskjet dev is running"), {
    timeoutMs: 30_000,
    message: `dev banner (stderr: ${run.stderr})`,
  });
  return Number(/nats-server \S+ \(pid (\d+)/.exec(run.stderr)?.[1]);
}

afterEach(async () => {
  for (const run of started.splice(0)) {
    if (run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill("SIGINT");
      await withDeadline(run.exited, 30_000, "dev exits after SIGINT").catch(() => run.child.kill("SIGKILL"));
    }
  }
  for (const pid of orphans.splice(0)) if (alive(pid)) process.kill(pid, "SIGKILL");
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("taskjet dev store lock", () => {
  it("refuses a second dev run in the same folder, saying which run holds it and what to do", async () => {
    assertBuilt();
    const cwd = mkdtempSync(join(tmpdir(), "taskjet-devlock-"));
    dirs.push(cwd);
    const first = dev(cwd);
    const natsPid = await running(first);
    const lock = JSON.parse(readFileSync(join(cwd, ".taskjet", "dev.lock"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(lock).toMatchObject({ pid: first.child.pid, natsPid });

    const second = dev(cwd);
    const { code } = await withDeadline(second.exited, 30_000, "the second dev run exits");
    expect(code).toBe(1);
    expect(second.stderr).toMatch(
      new RegExp(
        `error FAILED_PRECONDITION \\(store\\): another taskjet dev \\(pid ${first.child.pid}, its nats-server pid ${natsPid}`,
      ),
    );
    expect(second.stderr).toMatch(/stop it first .*--store <another folder>/);
    expect(second.stderr).not.toMatch(/nats-server nats:\/\//); // it started no server of its own
    expect(alive(natsPid)).toBe(true);

    first.child.kill("SIGINT");
    expect((await withDeadline(first.exited, 30_000, "first dev exits")).code).toBe(0);
    expect(existsSync(join(cwd, ".taskjet", "dev.lock"))).toBe(false);
  }, 90_000);

  it("finds the nats-server a SIGKILLed dev run left behind, stops it, and starts cleanly", async () => {
    assertBuilt();
    const cwd = mkdtempSync(join(tmpdir(), "taskjet-devlock-"));
    dirs.push(cwd);
    const killed = dev(cwd);
    const orphan = await running(killed);
    orphans.push(orphan);
    killed.child.kill("SIGKILL");
    await withDeadline(killed.exited, 10_000, "the killed dev run is gone");
    // kill -9 runs no exit hook: its nats-server (own process group) is still serving the store
    expect(alive(orphan)).toBe(true);

    const next = dev(cwd);
    const natsPid = await running(next);
    expect(next.stderr).toContain(
      `the dev run ${killed.child.pid} that used ${join(cwd, ".taskjet")} is gone but left its nats-server (pid ${orphan}) running: stopping it`,
    );
    expect(natsPid).not.toBe(orphan);
    await waitFor(() => !alive(orphan), { timeoutMs: 15_000, message: "the orphaned nats-server is gone" });
    const lock = JSON.parse(readFileSync(join(cwd, ".taskjet", "dev.lock"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(lock).toMatchObject({ pid: next.child.pid, natsPid });
  }, 90_000);
});
