/**
 * The nats-server that `taskjet dev` starts when NATS_URL is unset:
 * `nats-server -js -sd ./.taskjet/nats -a 127.0.0.1 -p <free port>`, in its own process group so a
 * terminal's Ctrl-C reaches only us and we stop it last, after the services that use it. (That also lets
 * it outlive a SIGKILLed dev run: the dev lock finds and stops such an orphan, devLock.ts.)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { UnavailableError } from "@taskjet/protocol";

export interface DevNatsServer {
  url: string;
  pid: number;
  storeDir: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      const port = typeof a === "object" && a ? a.port : 0;
      srv.close(() => res(port));
    });
  });
}

/** `storeRoot` (default `<cwd>/.taskjet`) holds the JetStream store in `nats/` and the dev lock (devLock.ts). */
export async function startDevNatsServer(
  cwd: string,
  port?: number,
  readyTimeoutMs = 15_000,
  storeRoot = resolve(cwd, ".taskjet"),
): Promise<DevNatsServer> {
  const storeDir = resolve(storeRoot, "nats");
  mkdirSync(storeDir, { recursive: true });
  const p = port ?? (await freePort());
  const args = ["-js", "-sd", storeDir, "-a", "127.0.0.1", "-p", String(p)];
  const child = spawn("nats-server", args, { cwd, stdio: ["ignore", "ignore", "pipe"], detached: true });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  let log = "";
  await new Promise<void>((res, rej) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      child.removeListener("error", onError);
      child.removeListener("exit", onExit);
      child.stderr!.removeListener("data", onData);
      child.stderr!.resume(); // keep draining its log so it never blocks on a full pipe
      if (err) rej(err);
      else res();
    };
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      done(
        new UnavailableError(
          `nats-server did not become ready in ${readyTimeoutMs} ms:\n${log.slice(-2000)}`,
        ),
      );
    }, readyTimeoutMs);
    const onError = (err: NodeJS.ErrnoException) =>
      done(
        new UnavailableError(
          err.code === "ENOENT"
            ? "nats-server is not on PATH: install it (https://nats.io) or point NATS_URL at a server with JetStream"
            : `cannot start nats-server: ${err.message}`,
          { cause: err },
        ),
      );
    const onExit = (code: number | null) =>
      done(
        new UnavailableError(`nats-server exited (code ${code}) before it was ready:\n${log.slice(-2000)}`),
      );
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes("Server is ready")) done();
    };
    child.once("error", onError);
    child.once("exit", onExit);
    child.stderr!.on("data", onData);
  });
  return {
    url: `nats://127.0.0.1:${p}`,
    pid: child.pid!,
    storeDir,
    stop: async () => {
      process.removeListener("exit", killOnExit);
      await stopChild(child);
    },
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}
