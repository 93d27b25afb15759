/**
 * Handler modules: ES modules named by `--handlers` or TASKJET_HANDLERS. Accepted shapes, in this order:
 *
 *   export default { email: async (ctx) => ..., resize: { handler, argsSchema, description } }
 *   export default function register(worker) { worker.register(...) }     (also a named `register`)
 *   export const handlers = { ... }                                          (same map as the default)
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { z } from "zod";
import { ValidationError } from "@taskjet/protocol";
import type { JobHandler, Worker } from "@taskjet/worker-runtime";

/** One entry of a handler map: the handler, or the handler with its options. */
export type HandlerEntry =
  JobHandler<never> | { handler: JobHandler<never>; argsSchema?: z.ZodType; description?: string };

export type HandlerMap = Record<string, HandlerEntry>;

/** A module path as an import specifier: files relative to `cwd`, URLs and package names as they are. */
export function specifierOf(ref: string, cwd = process.cwd()): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref) && !/^[a-z]:[\\/]/i.test(ref)) return ref; // file:, data:, node: ...
  if (isAbsolute(ref) || ref.startsWith(".") || /\.(m?js|cjs)$/.test(ref))
    return pathToFileURL(resolve(cwd, ref)).href;
  return ref;
}

/** Imports `ref` and registers what it exports on `worker`; returns the job types it added. */
export async function loadHandlers(ref: string, worker: Worker, cwd = process.cwd()): Promise<string[]> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(specifierOf(ref, cwd))) as Record<string, unknown>;
  } catch (err) {
    throw new ValidationError(`cannot load handlers module "${ref}": ${(err as Error).message}`, {
      field: "handlers",
      cause: err,
    });
  }
  const before = new Set(worker.types);
  const fn = typeof mod["default"] === "function" ? mod["default"] : mod["register"];
  const map =
    typeof mod["default"] === "object" && mod["default"] !== null ? mod["default"] : mod["handlers"];
  if (typeof fn === "function") {
    await (fn as (w: Worker) => unknown)(worker);
  } else if (typeof map === "object" && map !== null) {
    registerMap(worker, map as HandlerMap, ref);
  } else {
    throw new ValidationError(
      `handlers module "${ref}" must default-export a map { type: handler | { handler, argsSchema, description } } ` +
        `or a function register(worker)`,
      { field: "handlers" },
    );
  }
  return worker.types.filter((t) => !before.has(t));
}

export function registerMap(worker: Worker, map: HandlerMap, from = "handler map"): void {
  for (const [type, entry] of Object.entries(map)) {
    if (typeof entry === "function") {
      worker.register(type, entry as JobHandler<Record<string, unknown>>);
    } else if (entry && typeof entry === "object" && typeof entry.handler === "function") {
      worker.register(type, entry.handler as JobHandler<unknown>, {
        ...(entry.argsSchema ? { argsSchema: entry.argsSchema } : {}),
        ...(entry.description !== undefined ? { description: entry.description } : {}),
      });
    } else {
      throw new ValidationError(
        `${from}: "${type}" must be a handler function or { handler, argsSchema?, description? }`,
        {
          field: "handlers",
        },
      );
    }
  }
}
