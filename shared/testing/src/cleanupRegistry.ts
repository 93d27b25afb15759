import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Module-level registry of everything this process spawned or created, so that a test run that
// crashes (or forgets stop()) leaves no nats-server and no store dir behind.

const TEMP_PREFIX = "taskjet-nats-";

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let exitHookInstalled = false;
let sweptStaleDirs = false;

/** Remember a spawned child until it exits; it is SIGKILLed on process exit if still alive. */
export function trackChild(child: ChildProcess): void {
  installExitHook();
  children.add(child);
  child.once("exit", () => children.delete(child));
}

/**
 * A fresh temp dir `<tmpdir>/taskjet-nats-<pid>-XXXXXX`. The owner pid in the name lets a later run
 * remove dirs left by a process that died without running exit hooks (e.g. SIGTERM/SIGKILL).
 */
export function makeTempDir(): string {
  installExitHook();
  sweepStaleDirs();
  const dir = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}${process.pid}-`));
  tempDirs.add(dir);
  return dir;
}

/** Remove a dir created by {@link makeTempDir}; safe to call twice. */
export async function removeTempDir(dir: string): Promise<void> {
  // maxRetries: nats-server may still be flushing files for a moment after exit on slow disks.
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  tempDirs.delete(dir);
}

/** Number of tracked live children and temp dirs; handy for leak assertions in tests. */
export function registrySnapshot(): { pids: number[]; tempDirs: string[] } {
  const pids = [...children].flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
  return { pids, tempDirs: [...tempDirs] };
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: SIGKILL cannot be ignored, so no waiting is needed.
  process.once("exit", () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    for (const dir of tempDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort: the next run's sweep removes it
      }
    }
  });
}

function sweepStaleDirs(): void {
  if (sweptStaleDirs) return;
  sweptStaleDirs = true;
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const match = /^taskjet-nats-(\d+)-/.exec(name);
    const owner = Number(match?.[1]);
    if (!match || owner === process.pid || isAlive(owner)) continue;
    try {
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
    } catch {
      // another process may be sweeping the same dir
    }
  }
}

/** True if a process with this pid exists (EPERM means it exists but belongs to someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
