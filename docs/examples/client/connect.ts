import type { NatsConnection } from "@nats-io/nats-core";
import { TaskjetClient, createClient } from "@taskjet/client";

// opens (and on close() drains) its own connection; settings not given come from the environment:
// NATS_URL, NATS_CREDS, NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_TLS_CA/CERT/KEY, TASKJET_PREFIX
const client = await TaskjetClient.connect({
  servers: process.env.NATS_URL?.split(",") ?? ["nats://127.0.0.1:4222"],
  tenant: "acme", // default "default"
  nodeName: "web-1", // this process's node (JobPublisher); default the host name
  requestTimeoutMs: 10_000,
  encoding: "msgpack", // or "json"
  queueRetries: 3, // queue/queueMany sent again (same job id) when the outcome is unknown
  fastLane: true, // immediate once jobs go straight to the run stream ("The fast lane")
  argsSchemaCacheMs: 5_000, // how long the fast lane's args check reuses a schema read from the registry
});

// or over a NatsConnection you opened yourself (close() leaves it open)
export function over(nc: NatsConnection): TaskjetClient {
  return createClient(nc, { prefix: "taskjet", tenant: "acme" });
}
const other = client.forTenant("globex"); // same connection, another tenant
console.log(client.scheduler.tenant, other.scheduler.tenant); // acme globex
await client.close();
