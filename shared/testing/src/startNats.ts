import { makeTempDir } from "./cleanupRegistry.js";
import { startContainerNatsServer } from "./containerNatsServer.js";
import { externalNatsServer } from "./externalNatsServer.js";
import { findExecutable } from "./findExecutable.js";
import { startLocalNatsServer } from "./localNatsServer.js";
import type { NatsServerFixture, StartNatsOptions } from "./NatsServerFixture.js";

/**
 * Get a NATS server for a test, by the first of these that works:
 *
 * 1. `NATS_URL` is set: use that server as is (no spawn; `canRestart` is false, `stop()` is a
 *    no-op, `opts` are ignored).
 * 2. `nats-server` is on PATH: spawn it on 127.0.0.1 with an OS-chosen port (`-p -1`, parsed from
 *    its log, so no port race) and, by default, JetStream in a fresh temp store dir; resolve once
 *    it logs "Server is ready". This is the only mode with working `kill()`/`restart()`.
 * 3. A Docker engine answers: start the `nats` image via testcontainers (`canRestart` false).
 * 4. Otherwise reject with an Error saying how to get a server.
 *
 * @example
 * let nats: NatsServerFixture;
 * beforeAll(async () => { nats = await startNats(); });
 * afterAll(() => nats?.stop());
 */
export async function startNats(opts: StartNatsOptions = {}): Promise<NatsServerFixture> {
  const jetstream = opts.jetstream ?? true;
  const extraArgs = opts.args ?? [];

  const envUrl = process.env.NATS_URL?.trim();
  if (envUrl) return externalNatsServer(envUrl);

  const binary = findExecutable("nats-server");
  if (binary) {
    const storeDir = jetstream ? makeTempDir() : undefined;
    return startLocalNatsServer({
      binary,
      storeDir,
      argsFor: (port) => [
        ...["-a", "127.0.0.1", "-p", String(port)],
        ...(storeDir ? ["-js", "-sd", storeDir] : []),
        ...extraArgs,
      ],
    });
  }

  const container = await startContainerNatsServer({ jetstream, args: extraArgs });
  if (container) return container;

  throw new Error(
    "startNats: no NATS server available. Do one of:\n" +
      "  - install nats-server on PATH (e.g. `apt-get install nats-server`, or a release binary " +
      "from https://github.com/nats-io/nats-server/releases);\n" +
      "  - set NATS_URL to a running server with JetStream (e.g. NATS_URL=nats://127.0.0.1:4222);\n" +
      "  - start a Docker engine, so the `nats` image can be run via testcontainers.",
  );
}
