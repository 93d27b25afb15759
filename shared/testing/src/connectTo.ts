import { connect, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";

/**
 * Connect a nats.js client to `url` (one server URL, or several for a cluster). `opts` are passed
 * through, e.g. `{ maxReconnectAttempts: -1, reconnectTimeWait: 100 }` for crash/restart tests.
 * Close it in the test (`await nc.close()`), or the test process will not exit promptly.
 */
export function connectTo(url: string | string[], opts: NodeConnectionOptions = {}): Promise<NatsConnection> {
  return connect({ name: "taskjet-testing", ...opts, servers: url });
}
