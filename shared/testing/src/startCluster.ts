import { jetstreamManager } from "@nats-io/jetstream";
import { makeTempDir, removeTempDir } from "./cleanupRegistry.js";
import { connectTo } from "./connectTo.js";
import { freePort } from "@taskjet/nats";
import { startLocalNatsServer } from "./localNatsServer.js";
import { replicatedNatsServer } from "./natsBinary.js";
import type { NatsServerFixture } from "./NatsServerFixture.js";
import { NatsServerStartError } from "./spawnNatsServer.js";
import { uniqueName } from "./uniqueName.js";
import { waitFor } from "./waitFor.js";

/** Options of {@link startCluster}. */
export interface StartClusterOptions {
  /** Number of nodes. Default 3 (the smallest cluster that survives losing one node). */
  size?: number;
  /** How long to wait for JetStream to elect a meta leader and answer on every node. Default 30 s. */
  readyTimeoutMs?: number;
  /**
   * The nats-server binary. Default: one that serializes compare-and-set on replicated streams
   * (natsBinary.ts `replicatedNatsServer`); pass another only to test what happens on an older server.
   */
  binary?: string;
}

/**
 * A JetStream cluster of local nats-server processes on 127.0.0.1, one per node, each with its own
 * store dir, server name (`<cluster>-n<i>`) and fixed cluster port, routed to all the others.
 * Resolved only once every node answers JetStream API requests (a meta leader is elected).
 */
export interface NatsClusterFixture {
  /** Client URL of each node, in node order; pass the whole array to `connectTo` for failover. */
  readonly urls: string[];
  /** The nodes; each is a full {@link NatsServerFixture} (`kill`, `restart`, `pid`, `storeDir`). */
  readonly nodes: NatsServerFixture[];
  /** Cluster name (`--cluster_name`), unique per call. */
  readonly name: string;
  /** Server name (`-n`) of node `i`, as reported in stream cluster info. */
  serverName(i: number): string;
  /** Graceful shutdown (SIGTERM) of node `i`; keeps its store dir so `restartNode(i)` works. */
  stopNode(i: number): Promise<void>;
  /** SIGKILL node `i` (a crash) and wait for exit; keeps its store dir. */
  killNode(i: number): Promise<void>;
  /** Start node `i` again on the same ports and store dir; resolves when it is ready (not yet caught up). */
  restartNode(i: number): Promise<void>;
  /** Stop every node and remove all store dirs. Idempotent. */
  stop(): Promise<void>;
}

const START_ATTEMPTS = 3;

/**
 * Start a `size`-node JetStream cluster (a nats-server binary of 2.9.21 or newer, see natsBinary.ts; no
 * Docker/NATS_URL fallback).
 * Cluster ports must be known up front for `--routes`, so they come from {@link freePort}; a port
 * taken in between makes a node fail with "address already in use", and the whole start is retried.
 */
export async function startCluster(opts: StartClusterOptions = {}): Promise<NatsClusterFixture> {
  const size = opts.size ?? 3;
  if (!Number.isInteger(size) || size < 1) throw new Error(`startCluster: bad size ${size}`);
  const binary = opts.binary ?? replicatedNatsServer();
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binary, size, opts.readyTimeoutMs ?? 30_000);
    } catch (err) {
      const again =
        (err instanceof NatsServerStartError && err.addressInUse) || err instanceof PlacementError;
      if (!again || attempt >= START_ATTEMPTS) throw err;
    }
  }
}

async function startOnce(binary: string, size: number, readyTimeoutMs: number): Promise<NatsClusterFixture> {
  const name = uniqueName("c");
  const serverName = (i: number) => `${name}-n${i}`;
  const clusterPorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const storeDirs = clusterPorts.map(() => makeTempDir());
  const routeUrl = (port: number) => `nats://127.0.0.1:${port}`;

  // Start all nodes at once: each keeps retrying its routes until the others listen.
  const started = await Promise.allSettled(
    clusterPorts.map((clusterPort, i) => {
      const storeDir = storeDirs[i];
      const routes = clusterPorts.filter((_, j) => j !== i).map(routeUrl);
      return startLocalNatsServer({
        binary,
        storeDir,
        argsFor: (port) => [
          ...["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", storeDir ?? ""],
          ...["-n", serverName(i), "--cluster_name", name, "--cluster", routeUrl(clusterPort)],
          ...(routes.length ? ["--routes", routes.join(",")] : []),
        ],
      });
    }),
  );
  const nodes = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = started.find((r) => r.status === "rejected");
  if (failed) {
    await Promise.all(nodes.map((n) => n.stop()));
    await Promise.all(storeDirs.map((d) => removeTempDir(d)));
    throw failed.reason;
  }

  const fixture = clusterFixture(name, nodes, serverName);
  try {
    await Promise.all(nodes.map((n) => waitForJetStream(n.url, readyTimeoutMs)));
    await waitForPlacement(nodes[0]!.url, size, readyTimeoutMs);
  } catch (err) {
    await fixture.stop();
    throw err;
  }
  return fixture;
}

function clusterFixture(
  name: string,
  nodes: NatsServerFixture[],
  serverName: (i: number) => string,
): NatsClusterFixture {
  const node = (i: number) => {
    const n = nodes[i];
    if (!n) throw new RangeError(`no cluster node ${i} (size ${nodes.length})`);
    return n;
  };
  let stopping: Promise<void> | undefined;
  return {
    name,
    urls: nodes.map((n) => n.url),
    nodes,
    serverName,
    stopNode: async (i) => node(i).kill("SIGTERM"),
    killNode: async (i) => node(i).kill("SIGKILL"),
    restartNode: async (i) => node(i).restart(),
    stop: () => (stopping ??= Promise.all(nodes.map((n) => n.stop())).then(() => undefined)),
  };
}

class PlacementError extends Error {
  override name = "PlacementError";
}

/**
 * Until every peer has reported to the meta leader, a stream of `size` replicas fails with "no suitable
 * peers for placement": create (and delete) a probe stream until one can be placed.
 */
async function waitForPlacement(url: string, size: number, timeoutMs: number): Promise<void> {
  if (size < 2) return;
  const nc = await connectTo(url, { maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 5_000 });
    const name = uniqueName("probe");
    await waitFor(
      () => jsm.streams.add({ name, subjects: [`${name}.>`], num_replicas: size }).then(() => true),
      { timeoutMs, intervalMs: 200, message: `an R${size} stream could not be placed on the cluster` },
    ).catch((err: unknown) => {
      // seen on a loaded machine: the peers never all reported to the meta leader; a fresh cluster does
      throw new PlacementError((err as Error).message, { cause: err });
    });
    await jsm.streams.delete(name);
  } finally {
    await nc.close();
  }
}

/** Poll one node until its JetStream API answers, which needs an elected meta leader. */
async function waitForJetStream(url: string, timeoutMs: number): Promise<void> {
  const nc = await connectTo(url, { maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  try {
    await waitFor(
      async () => {
        const jsm = await jetstreamManager(nc, { timeout: 2_000 });
        return jsm.getAccountInfo();
      },
      { timeoutMs, intervalMs: 100, message: `JetStream on cluster node ${url} is not ready` },
    );
  } finally {
    await nc.close();
  }
}
