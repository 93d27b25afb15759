import { TaskjetClient } from "@taskjet/client";

const client = await TaskjetClient.connect();
const id = `events-${Date.now()}`;
// async iterator
const sub = client.events.subscribe({ jobId: id, phases: ["before", "after"] });
await sub.ready(); // the server has the subscription: events from now on are seen
await client.scheduler.queue({ id, name: "hello", type: "console", args: { message: "hi" } });
for await (const e of sub) {
  console.log(e.phase, e.jobId, e.data.status, e.data.result, e.data.error);
  if (e.phase === "after") break;
}
await sub.close();

// callbacks
const h = client.events.on(
  { group: "reports", type: "http", phases: "after" },
  (e) => console.log(`${e.jobId} took ${e.data.durationMs} ms`),
  (err) => console.error("bad event or handler error", err),
);
await h.close();
await client.close();
