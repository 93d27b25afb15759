/**
 * The one nats-server launcher: `taskjet dev` (services/cli natsServer.ts) and the test harness
 * (@taskjet/testing spawnNatsServer.ts) both start their servers with `launchNatsServer`, so a server that
 * will not start fails the same way for both: a NatsServerStartError with the tail of its log.
 *
 * The server is ready when its log says "Server is ready"; its client port is read from the "Listening for
 * client connections" line (so `-p -1`, any free port, works). Its stderr is read for as long as it runs: a
 * server whose log pipe fills up blocks.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

/** A running nats-server child whose log said "Server is ready". */
export interface NatsServerProcess {
  child: ChildProcess;
  pid: number;
  /** client port, from the "Listening for client connections" log line */
  port: number;
  /** resolves once the process has exited (never rejects) */
  exited: Promise<void>;
  /** the last lines of the server's log, for error messages */
  logTail(): string;
}

export interface LaunchNatsServerOptions {
  /** path or name (looked up on PATH) of the nats-server binary */
  binary: string;
  args: string[];
  readyTimeoutMs: number;
  /** a command the binary runs under, e.g. `setpriv --pdeathsig KILL` (the tests' harness) */
  prefix?: string[];
  cwd?: string;
  /** its own process group: a terminal's Ctrl-C reaches the caller, which stops the server last (`taskjet dev`) */
  detached?: boolean;
  /** called with the child right after the spawn (the tests' harness tracks it for cleanup) */
  onSpawn?: (child: ChildProcess) => void;
}

/** nats-server died, could not be spawned, or stayed silent before it was ready; `log` holds its output. */
export class NatsServerStartError extends Error {
  override name = "NatsServerStartError";
  constructor(
    message: string,
    readonly log: string,
    /** the spawn's errno code when the binary could not be run at all (ENOENT: not found) */
    readonly spawnCode?: string,
  ) {
    super(`${message}\n--- nats-server log (tail) ---\n${log}`);
  }

  /** True when the failure was a port collision, which a caller may retry on another port. */
  get addressInUse(): boolean {
    // nats-server's own words in its log: the only record of why it exited
    return /address already in use/i.test(this.log);
  }
}

const LOG_TAIL_LINES = 60;
const LISTENING = /Listening for client connections on (?:\S+):(\d+)/;
const READY = /Server is ready/;

/** Spawns nats-server and resolves once it is ready (see the file header); rejects with NatsServerStartError. */
export function launchNatsServer(o: LaunchNatsServerOptions): Promise<NatsServerProcess> {
  const [cmd = o.binary, ...prefixArgs] = [...(o.prefix ?? []), o.binary];
  const child = spawn(cmd, [...prefixArgs, ...o.args], {
    stdio: ["ignore", "ignore", "pipe"],
    ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
    ...(o.detached ? { detached: true } : {}),
  });
  o.onSpawn?.(child);

  const tail: string[] = [];
  const logTail = () => tail.join("\n");
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // 'close' comes after stderr is fully read, so an error message built then has the whole log.
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));

  return new Promise<NatsServerProcess>((resolve, reject) => {
    let port: number | undefined;
    let settled = false;
    let partial = "";

    const fail = (message: string, spawnCode?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const error = () => new NatsServerStartError(message, logTail(), spawnCode);
      if (child.pid === undefined) return reject(error()); // never started: nothing to wait for
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      // Wait for exit so a failed start never leaves a process behind.
      void closed.then(() => reject(error()));
    };
    const timer = setTimeout(
      () => fail(`nats-server did not become ready within ${o.readyTimeoutMs} ms`),
      o.readyTimeoutMs,
    );

    // `on`, not `once`: an unhandled later 'error' (e.g. a failed kill) would crash the process.
    child.on("error", (err: NodeJS.ErrnoException) =>
      fail(`could not spawn ${o.binary}: ${err.message}`, err.code),
    );
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
          resolve({ child, pid: child.pid, port, exited, logTail });
        }
      }
    });
  });
}

/** Sends `signal` and waits for the exit; SIGKILL after `graceMs`. No-op if it has exited already. */
export async function stopNatsServer(
  server: NatsServerProcess,
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

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, close). Racy by nature: use only
 * where a port must be known before the server starts (cluster routes, a fixed dev port), and retry on
 * "address already in use".
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close((err) => (err || !port ? reject(err ?? new Error("no port assigned")) : resolve(port)));
    });
  });
}
