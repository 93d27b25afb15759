/**
 * @taskjet/testing: vitest helpers that start REAL nats-server processes (single server or
 * JetStream cluster) for integration tests, `useNatsServer()` for a file's server and connection (needs
 * vitest, a dev dependency: import this package from tests and benchmarks only), plus
 * small polling/collection helpers, and fires without a scheduler (buildFire, publishFire; protocol's
 * buildFire, the scheduler's own builder, underneath).
 */
export type { NatsServerFixture, StartNatsOptions } from "./NatsServerFixture.js";
export { startNats } from "./startNats.js";
export { useNatsServer, type NatsTestContext } from "./useNatsServer.js";
export { startCluster, type NatsClusterFixture, type StartClusterOptions } from "./startCluster.js";
export { natsServerVersion, replicatedNatsServer } from "./natsBinary.js";
export { findExecutable } from "./findExecutable.js";
export { NatsServerStartError } from "./spawnNatsServer.js";
export { waitFor, withDeadline, type Truthy, type WaitForOptions } from "./waitFor.js";
export { collect } from "./collect.js";
export { uniqueName } from "./uniqueName.js";
export { connectTo } from "./connectTo.js";
export { isAlive, registrySnapshot } from "./cleanupRegistry.js";
export { buildFire, publishFire, type BuildFireOptions } from "./fireTools.js";
