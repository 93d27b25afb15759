/** The job types every taskjet worker service ships (the seed's built-in jobs). */
import type { Worker } from "@taskjet/worker-runtime";
import { ConsoleArgsSchema, consoleHandler } from "./console.js";
import { createHttpHandler, HttpArgsSchema } from "./http.js";
import { SleepArgsSchema, sleepHandler } from "./sleep.js";

export const builtinTypes = ["http", "sleep", "console"] as const;

export function registerBuiltins(worker: Worker): void {
  // under the worker's destination policy and body cap (httpAllow, httpDeny, httpMaxResponseBytes)
  worker.register("http", createHttpHandler(worker.http), {
    argsSchema: HttpArgsSchema,
    description: "HTTP request: url, method (GET), headers, data, contentType; non-2xx fails; result = body",
  });
  worker.register("sleep", sleepHandler, {
    argsSchema: SleepArgsSchema,
    description: "waits args.ms milliseconds",
  });
  worker.register("console", consoleHandler, {
    argsSchema: ConsoleArgsSchema,
    description: "logs args.message",
  });
}
