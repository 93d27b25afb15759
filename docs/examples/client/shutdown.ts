import { TaskjetClient } from "@taskjet/client";

const client = await TaskjetClient.connect();
await client.scheduler.shutdown(); // the seed's Shutdown: asks every scheduler replica to stop
await client.close();
