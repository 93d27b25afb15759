import { TaskjetClient } from "@taskjet/client";

const client = await TaskjetClient.connect();
await client.cluster.types(); // [{ type, description?, argsSchema?, nodes, seenAt }] from the registry
await client.cluster.consumers(); // [{ name, filterSubjects, pending, ackPending, redelivered, waiting }]
await client.cluster.checkStore(); // throws UNAVAILABLE unless the job store bucket answers
await client.close();
