/**
 * The lock of a `taskjet dev` store folder (`<store>/dev.lock`): one dev run, and so one nats-server, per
 * folder. Two nats-servers on the same JetStream store directory corrupt each other's view of it (the
 * probe's scheduler flapped between leader and fenced until the folder was deleted).
 *
 *   { "pid": <dev process>, "natsPid": <its nats-server>, "natsPort": <port>, "startedAt": <ISO> }
 *
 * acquire():  creates the file exclusively (O_EXCL). When it exists:
 *   - its dev process is alive and is a taskjet dev          -> FAILED_PRECONDITION saying what to do
 *   - its dev process is gone (kill -9, crash) but its nats-server still runs on this store (an orphan:
 *     the server runs in its own process group, so it outlives a SIGKILLed parent) -> stop that server,
 *     say so, take the lock
 *   - nothing of it runs                                     -> take the lock (a stale file)
 * A pid is only trusted when the process's command line still looks like what the lock says (pids are
 * reused): /proc/<pid>/cmdline, else `ps`.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FailedPreconditionError } from "@taskjet/protocol";

export const LOCK_FILE = "dev.lock";

export interface DevLockInfo {
  pid: number;
  natsPid?: number;
  natsPort?: number;
  startedAt: string;
}

export interface DevLock {
  readonly path: string;
  /** Records the nats-server this run started, so a later run can find it if this one is killed. */
  setNats(natsPid: number, natsPort: number): void;
  /** Removes the file if it is still ours. */
  release(): void;
}

export async function acquireDevLock(
  storeDir: string,
  say: (line: string) => void,
  pid = process.pid,
): Promise<DevLock> {
  const path = join(storeDir, LOCK_FILE);
  const info: DevLockInfo = { pid, startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, JSON.stringify(info), { flag: "wx" });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 3) throw err;
    }
    await clearStale(path, storeDir, say);
  }
  const write = () => {
    // write-then-rename: a reader never sees half a file
    writeFileSync(`${path}.${pid}.tmp`, JSON.stringify(info));
    renameSync(`${path}.${pid}.tmp`, path);
  };
  return {
    path,
    setNats(natsPid, natsPort) {
      Object.assign(info, { natsPid, natsPort });
      write();
    },
    release() {
      if (readLock(path)?.pid === pid) unlinkSync(path);
    },
  };
}

/** Refuses when the lock's owner runs; stops its orphaned nats-server; then removes the stale file. */
async function clearStale(path: string, storeDir: string, say: (line: string) => void): Promise<void> {
  const other = readLock(path);
  if (other && isTaskjetDev(other.pid)) {
    const nats = other.natsPid ? `, its nats-server pid ${other.natsPid} on port ${other.natsPort}` : "";
    throw new FailedPreconditionError(
      `another taskjet dev (pid ${other.pid}${nats}, since ${other.startedAt}) uses the store ${storeDir}: ` +
        `stop it first (Ctrl-C in its terminal, or kill ${other.pid}), run this one with --store <another ` +
        "folder>, or point NATS_URL at its server to use that instead",
      { field: "store", details: { ...other } },
    );
  }
  if (other?.natsPid && isNatsServerOn(other.natsPid, storeDir)) {
    say(
      `the dev run ${other.pid} that used ${storeDir} is gone but left its nats-server (pid ${other.natsPid}) ` +
        "running: stopping it\n",
    );
    await stopProcess(other.natsPid);
  }
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

export function readLock(path: string): DevLockInfo | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const v = JSON.parse(readFileSync(path, "utf8")) as Partial<DevLockInfo>;
    return typeof v.pid === "number" ? (v as DevLockInfo) : undefined;
  } catch {
    // a torn or foreign file: nothing in it can be trusted, so nothing in it is refused
    return undefined;
  }
}

/** The command line of a live process, or undefined when it is gone. */
export function commandLine(pid: number): string[] | undefined {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: alive but someone else's; not a process of ours
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return undefined;
  }
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8")
      .split("\0")
      .filter((a) => a !== "");
    // a zombie has no command line left: it is as good as gone
    return args.length > 0 ? args : undefined;
  } catch {
    // no /proc (macOS): ask ps
    try {
      const out = execFileSync("ps", ["-o", "args=", "-p", String(pid)], { encoding: "utf8" }).trim();
      return out === "" ? undefined : out.split(/\s+/);
    } catch {
      return undefined;
    }
  }
}

function isTaskjetDev(pid: number): boolean {
  const args = commandLine(pid);
  if (!args) return false;
  return args.includes("dev") && args.some((a) => /taskjet|cli[\\/]dist[\\/]main\.js$/.test(a));
}

function isNatsServerOn(pid: number, storeDir: string): boolean {
  const args = commandLine(pid);
  if (!args) return false;
  return /(^|[\\/])nats-server$/.test(args[0] ?? "") && args.some((a) => a.startsWith(storeDir));
}

/** SIGTERM, then SIGKILL after 10 s; resolves when the process is gone. */
async function stopProcess(pid: number): Promise<void> {
  const gone = () => commandLine(pid) === undefined;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  while (!gone()) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        return;
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
