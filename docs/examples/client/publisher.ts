import { TaskjetClient } from "@taskjet/client";

const client = await TaskjetClient.connect({ nodeName: "web-1" });
await client.publisher.publish({ name: "thumbnail", type: "resize", args: { file: "a.png" } }); // node web-1
await client.dispatcher.dispatch("gpu-1", { name: "train", type: "train", args: {} }); // node gpu-1
await client.close();
