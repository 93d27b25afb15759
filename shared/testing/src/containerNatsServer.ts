import type * as Testcontainers from "testcontainers";
import { fixtureWithoutRestart, type NatsServerFixture } from "./NatsServerFixture.js";
import { withDeadline } from "./waitFor.js";

const NATS_IMAGE = process.env.TASKJET_NATS_IMAGE ?? "nats:2.10-alpine";
const CLIENT_PORT = 4222;

/**
 * Start nats-server in a Docker container via testcontainers, or return undefined if no container
 * engine answers. testcontainers is imported lazily so that runs which never get here pay nothing.
 *
 * Uses testcontainers' GenericContainer rather than `@testcontainers/nats`: the latter always adds
 * `--user test --pass test`, and a fixture exposes only a URL, which nats.js cannot carry
 * credentials in.
 */
export async function startContainerNatsServer(opts: {
  jetstream: boolean;
  args: string[];
}): Promise<NatsServerFixture | undefined> {
  let tc: typeof Testcontainers;
  try {
    tc = await import("testcontainers");
    await withDeadline(tc.getContainerRuntimeClient(), 15_000, "probing the Docker engine");
  } catch {
    return undefined;
  }
  const command = [...(opts.jetstream ? ["-js"] : []), ...opts.args];
  const container = await new tc.GenericContainer(NATS_IMAGE)
    .withCommand(command)
    .withExposedPorts(CLIENT_PORT)
    .withWaitStrategy(tc.Wait.forLogMessage(/Server is ready/))
    .withStartupTimeout(120_000)
    .start();
  const port = container.getMappedPort(CLIENT_PORT);
  const url = `nats://${container.getHost()}:${port}`;
  // A container restart may remap the host port, so crash/restart tests are not supported here.
  let stopping: Promise<void> | undefined;
  return fixtureWithoutRestart(
    url,
    port,
    `containerized NATS server ${url}`,
    () => (stopping ??= container.stop().then(() => undefined)),
  );
}
