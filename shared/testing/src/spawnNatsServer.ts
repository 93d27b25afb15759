/**
 * The harness's nats-server start: @taskjet/nats' launcher (the one `taskjet dev` uses too), with the
 * child tracked for cleanup, killed by the kernel if this process dies (setpriv --pdeathsig, where there
 * is one), and unreferenced once ready so a forgotten server never keeps a test process alive.
 */
import {
  launchNatsServer,
  NatsServerStartError,
  stopNatsServer,
  type NatsServerProcess,
} from "@taskjet/nats";
import { trackChild } from "./cleanupRegistry.js";
import { deathSignalCommand } from "./findExecutable.js";

export { NatsServerStartError };
export type SpawnedNatsServer = NatsServerProcess;

/** Spawns `binary args...` and resolves when the server is ready; rejects with NatsServerStartError. */
export async function spawnNatsServer(
  binary: string,
  args: string[],
  readyTimeoutMs: number,
): Promise<SpawnedNatsServer> {
  const server = await launchNatsServer({
    binary,
    args,
    readyTimeoutMs,
    prefix: deathSignalCommand(),
    onSpawn: trackChild,
  });
  // the exit hook (cleanupRegistry.ts) kills it; stopNatsServer refs it again while it waits
  server.child.unref();
  (server.child.stderr as { unref?: () => void } | null)?.unref?.();
  return server;
}

/** Sends `signal` and waits for the exit; SIGKILL after `graceMs`. */
export const killProcess = stopNatsServer;
