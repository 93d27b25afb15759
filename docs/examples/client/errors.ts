import { TaskjetClient } from "@taskjet/client";
import { TaskjetError, ValidationError } from "@taskjet/protocol";

const client = await TaskjetClient.connect();
try {
  await client.scheduler.queue({ name: "bad", type: "console", jobType: "period" });
} catch (err) {
  if (err instanceof ValidationError)
    console.log(err.field, err.issues); // "cron", [...]
  else if (err instanceof TaskjetError && err.retryable) {
    /* UNAVAILABLE, TIMEOUT, CONFLICT, RESOURCE_EXHAUSTED (store full): retry */
  } else throw err;
}
await client.close();
