/**
 * The nats-server that `taskjet dev` starts when NATS_URL is unset:
 * `nats-server -js -sd ./.taskjet/nats -a 127.0.0.1 -p <free port>`, through @taskjet/nats' launcher (the
 * one the tests use), in its own process group so a terminal's Ctrl-C reaches only us and we stop it last,
 * after the services that use it. (That also lets it outlive a SIGKILLed dev run: the dev lock finds and
 * stops such an orphan, devLock.ts.)
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import {
  freePort,
  launchNatsServer,
  NatsServerStartError,
  stopNatsServer,
  type NatsServerProcess,
} from "@taskjet/nats";
import { UnavailableError } from "@taskjet/protocol";

export interface DevNatsServer {
  url: string;
  pid: number;
  storeDir: string;
  stop(): Promise<void>;
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
  let killOnExit = () => {};
  let server: NatsServerProcess;
  try {
    server = await launchNatsServer({
      binary: "nats-server",
      args: ["-js", "-sd", storeDir, "-a", "127.0.0.1", "-p", String(p)],
      readyTimeoutMs,
      cwd,
      detached: true,
      // from the spawn on: a dev run that exits while the server starts leaves none behind
      onSpawn: (child) => {
        killOnExit = () => child.kill("SIGKILL");
        process.once("exit", killOnExit);
      },
    });
  } catch (err) {
    process.removeListener("exit", killOnExit);
    if (!(err instanceof NatsServerStartError)) throw err;
    throw new UnavailableError(
      err.spawnCode === "ENOENT"
        ? "nats-server is not on PATH: install it (https://nats.io) or point NATS_URL at a server with JetStream"
        : `cannot start nats-server: ${err.message}`,
      { cause: err },
    );
  }
  return {
    url: `nats://127.0.0.1:${server.port}`,
    pid: server.pid,
    storeDir,
    stop: async () => {
      process.removeListener("exit", killOnExit);
      await stopNatsServer(server, "SIGTERM", 10_000);
    },
  };
}
