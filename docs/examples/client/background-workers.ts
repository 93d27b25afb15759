import { createWorker } from "@taskjet/worker-runtime";
import { BackgroundWorkerManager, TaskjetClient } from "@taskjet/client";

const cleanTemp = async () => "cleaned";
const sendDigest = async () => "sent";

const client = await TaskjetClient.connect();
const worker = createWorker({ node: "web-1" });
const workers = new BackgroundWorkerManager(client.scheduler, worker);
await workers.add({ name: "cleanup temp files", period: 300, doWork: async () => cleanTemp() }); // every 5 min
await workers.add({
  name: "daily digest",
  period: "0 0 7 * * ?",
  timeZone: "Europe/Berlin",
  doWork: sendDigest,
});
await worker.start();
// ... on SIGTERM:
await worker.stop();
await client.close();
