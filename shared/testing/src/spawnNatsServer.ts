import { spawn, type ChildProcess } from "node:child_process";
import { trackChild } from "./cleanupRegistry.js";
import { deathSignalCommand } from "./findExecutable.js";

/** A running nats-server child whose log said "Server is ready". */
export interface SpawnedNatsServer {
  child: ChildProcess;
  pid: number;
  /** Client port, parsed from the "Listening for client connections" log line. */
  port: number;
  /** Resolves once the process has exited (never rejects). */
  exited: Promise<void>;
  /** The last lines of the server's log, for error messages. */
  logTail(): string;
}

/** Thrown when nats-server dies or stays silent before it is ready; `log` holds its output. */
export class NatsServerStartError extends Error {
  override name = "NatsServerStartError";
  constructor(
    message: string,
    readonly log: string,
  ) {
    super(`${message}\n--- nats-server log (tail) ---\n${log}`);
  }

  /** True when the failure was a port collision, which a caller may retry on another port. */
  get addressInUse(): boolean {
    return /address already in use/i.test(this.log);
  }
}

const LOG_TAIL_LINES = 60;
const LISTENING = /Listening for client connections on (?:\S+):(\d+)/;
const READY = /Server is ready/;

/**
 * Spawn `binary args...` and resolve when the server logs "Server is ready". Rejects with a
 * {@link NatsServerStartError} carrying the log tail if it exits or `readyTimeoutMs` passes first.
 */
export function spawnNatsServer(
  binary: string,
  args: string[],
  readyTimeoutMs: number,
): Promise<SpawnedNatsServer> {
  const [cmd = binary, ...prefixArgs] = [...deathSignalCommand(), binary];
  // stdout is unused by nats-server; stderr must be drained forever or the server blocks on a full pipe.
  const child = spawn(cmd, [...prefixArgs, ...args], { stdio: ["ignore", "ignore", "pipe"] });
  trackChild(child);

  const tail: string[] = [];
  const logTail = () => tail.join("\n");
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // 'close' comes after stderr is fully read, so an error message built then has the whole log.
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));

  return new Promise<SpawnedNatsServer>((resolve, reject) => {
    let port: number | undefined;
    let settled = false;
    let partial = "";

    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const error = () => new NatsServerStartError(message, logTail());
      if (child.pid === undefined) return reject(error()); // never started: nothing to wait for
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      // Wait for exit so a failed start never leaves a process behind.
      void closed.then(() => reject(error()));
    };
    const timer = setTimeout(
      () => fail(`nats-server did not become ready within ${readyTimeoutMs} ms`),
      readyTimeoutMs,
    );

    // `on`, not `once`: an unhandled later 'error' (e.g. a failed kill) would crash the test run.
    child.on("error", (err) => fail(`could not spawn ${binary}: ${err.message}`));
    child.once("exit", (code, signal) =>
      fail(`nats-server exited before it was ready (code ${code}, signal ${signal})`),
    );
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        tail.push(line);
        if (tail.length > LOG_TAIL_LINES) tail.shift();
        if (settled) continue;
        const listening = LISTENING.exec(line);
        if (listening) port = Number(listening[1]);
        if (READY.test(line)) {
          if (port === undefined || child.pid === undefined) {
            fail("nats-server is ready but logged no client port");
            continue;
          }
          settled = true;
          clearTimeout(timer);
          // A forgotten server must not keep the test process alive; the exit hook kills it.
          child.unref();
          (child.stderr as { unref?: () => void } | null)?.unref?.();
          resolve({ child, pid: child.pid, port, exited, logTail });
        }
      }
    });
  });
}

/**
 * Send `signal` and wait for exit; escalate to SIGKILL after `graceMs`. No-op if already exited.
 */
export async function killProcess(
  server: SpawnedNatsServer,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.ref(); // keep the event loop alive until the 'exit' event we wait for
  child.kill(signal);
  if (signal === "SIGKILL") return server.exited;
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  try {
    await server.exited;
  } finally {
    clearTimeout(timer);
  }
}
