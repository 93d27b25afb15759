import { TaskjetClient } from "@taskjet/client";

const client = await TaskjetClient.connect();
const s = client.scheduler;
const message = { message: "later" };
await s.queue({ name: "in a minute", type: "console", args: message, delayMs: 60_000 }); // BullMQ's delay
await s.queue({ name: "at 9", type: "console", args: message, runAt: new Date("2030-01-01T09:00:00Z") });
await s.queue({ name: "in 90 s", type: "console", args: message, intervalSeconds: 90 }); // the seed's delay
// over the wire (REST, CLI, raw NATS) runAt is an ISO time: "2030-01-01T09:00:00Z"
await client.close();
