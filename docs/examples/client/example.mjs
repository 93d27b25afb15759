// example.mjs: run `npx taskjet dev` in another terminal, then
// NATS_URL=<the URL dev printed> node example.mjs
import { TaskjetClient } from "@taskjet/client";

const client = await TaskjetClient.connect();
const id = `hello-${Date.now()}`;
const sub = client.events.subscribe({ jobId: id, phases: "after" });
await sub.ready(); // subscribe first: a once job without a delay runs at once
await client.scheduler.queue({ id, name: "hello", type: "console", args: { message: "hi from the SDK" } });
for await (const e of sub) {
  console.log(`job ${e.jobId} ran: status ${e.data.status}`);
  break;
}
console.table(await client.scheduler.logs(id));
await client.close();
