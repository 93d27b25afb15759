import { spawnSync } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

/** Absolute path of `name` on PATH, or undefined. Like `which`, without spawning a shell. */
export function findExecutable(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

let deathSignalPrefix: string[] | undefined;

/**
 * Command prefix that makes the kernel SIGKILL the child when this process dies, even by SIGKILL
 * (vitest tears fork workers down with SIGTERM, which skips 'exit' handlers). Linux-only, via
 * util-linux `setpriv --pdeathsig`; empty where that is unavailable.
 */
export function deathSignalCommand(): string[] {
  if (deathSignalPrefix) return deathSignalPrefix;
  deathSignalPrefix = [];
  const setpriv = process.platform === "linux" ? findExecutable("setpriv") : undefined;
  // Older util-linux has setpriv without --pdeathsig: probe once.
  if (setpriv && spawnSync(setpriv, ["--pdeathsig", "KILL", "true"]).status === 0) {
    deathSignalPrefix = [setpriv, "--pdeathsig", "KILL"];
  }
  return deathSignalPrefix;
}
