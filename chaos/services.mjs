// Service processes of the chaos suites (chaos/run.mjs, chaos/partitionDriver.mjs): a taskjet service as a
// child process, optionally inside a network namespace (`ip netns exec <ns>`, which execs the command, so
// the pid and signals are the service's own). Every process started is killed when the suite is stopped by
// a signal, so none outlives it.
import { spawn } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("..", import.meta.url));
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const children = new Set();
const onExit = [];
/** Runs `fn` (synchronous) when the process exits, also after SIGINT/SIGTERM. */
export function atExit(fn) {
  onExit.push(fn);
}
process.once("exit", () => {
  for (const p of children) p.kill("SIGKILL");
  for (const fn of onExit.splice(0)) {
    try {
      fn();
    } catch (err) {
      console.error("chaos: cleanup failed:", err);
    }
  }
});
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.once(sig, () => process.exit(130)); // runs the exit hooks: children, labs, nats-servers
}

export function requireBuilt() {
  for (const dist of ["services/scheduler/dist/main.js", "services/worker/dist/main.js"])
    if (!existsSync(join(root, dist))) throw new Error(`${dist} is missing: run npm run build first`);
}

/**
 * A child process (`netns`: inside that network namespace) with the last 20 kB of its output;
 * `kill`, `stop` (SIGTERM, SIGKILL after 10 s), `pause`/`resume` (SIGSTOP/SIGCONT), `exited`;
 * `matches()`: how many output lines matched `watch` (a regex), counted over the whole output; `logFile`:
 * the whole output is also written there.
 */
export function child(command, args, { env, netns, watch, logFile } = {}) {
  const [cmd, argv] = netns ? ["ip", ["netns", "exec", netns, command, ...args]] : [command, args];
  let log = "";
  let matches = 0;
  const p = spawn(cmd, argv, { env, stdio: ["ignore", "pipe", "pipe"] });
  children.add(p);
  const exited = new Promise((r) => p.once("exit", (code, signal) => r({ code, signal })));
  p.once("exit", () => children.delete(p));
  const file = logFile ? createWriteStream(logFile, { flags: "a" }) : undefined;
  p.once("exit", () => file?.end());
  const onData = (d) => {
    const text = String(d);
    file?.write(text);
    if (watch) matches += text.split("\n").filter((l) => watch.test(l)).length;
    log = (log + text).slice(-20_000);
  };
  p.stdout.on("data", onData);
  p.stderr.on("data", onData);
  return {
    pid: p.pid,
    netns,
    log: () => log,
    matches: () => matches,
    exited,
    kill: async () => {
      p.kill("SIGKILL");
      await exited;
    },
    stop: async () => {
      if (p.exitCode !== null || p.signalCode !== null) return;
      p.kill("SIGCONT");
      p.kill("SIGTERM");
      const t = setTimeout(() => p.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    },
    pause: () => p.kill("SIGSTOP"),
    resume: () => p.kill("SIGCONT"),
  };
}

/** A taskjet service (`scheduler`, `worker`) from its built dist/. */
export function service(kind, args, env, { netns, watch, logFile } = {}) {
  return child(process.execPath, [join(root, `services/${kind}/dist/main.js`), ...args], {
    env,
    netns,
    watch,
    logFile,
  });
}
