/**
 * A job type declared once, imported by producers and workers alike (graphile-worker's task map, BullMQ's
 * generics): its name, the zod schema of its args and the defaults of the jobs queued with it.
 *
 *   export const sendEmail = defineJob("email.send", z.object({ to: z.email(), subject: z.string() }), {
 *     priority: "high",
 *     maxTryCount: 5,
 *   });
 *   await client.scheduler.queue(sendEmail, { to: "a@example.com", subject: "hi" });  // args type-checked
 *   worker.register(sendEmail, async ({ args }) => send(args.to, args.subject));    // args typed
 */
import type { z } from "zod";
import { parseOrThrow, printableName, type JobInput } from "@taskjet/protocol";

/** Args travel as an object: a schema whose input and output are objects. */
export type ArgsSchema = z.ZodType<Record<string, unknown>, Record<string, unknown>>;

/** What a definition may fix for every job queued with it; each queue call may override any of it. */
export type JobDefaults = Partial<Omit<JobInput, "id" | "type" | "args" | "tenantId">>;

export interface DefinedJob<T extends string = string, S extends ArgsSchema = ArgsSchema> {
  /** the job type: the name workers register and subjects carry (as its token, protocol names.ts) */
  readonly type: T;
  readonly argsSchema: S;
  readonly defaults: Readonly<JobDefaults>;
}

/** The args a producer passes for a definition (the schema's input: defaults may be left out). */
export type ArgsOf<D> = D extends DefinedJob<string, infer S> ? z.input<S> : never;
/** The args a handler receives for a definition (the schema's output). */
export type ParsedArgsOf<D> = D extends DefinedJob<string, infer S> ? z.output<S> : never;

/**
 * Declares a job type. The type is checked at once (INVALID_ARGUMENT naming `type`); the defaults are
 * checked with each job queued, by the same rules as any job.
 */
export function defineJob<const T extends string, S extends ArgsSchema>(
  type: T,
  argsSchema: S,
  defaults: JobDefaults = {},
): DefinedJob<T, S> {
  parseOrThrow(printableName("type"), type, "type");
  return Object.freeze({ type, argsSchema, defaults: Object.freeze({ ...defaults }) });
}

/** True for a value made by defineJob (or shaped like one): lets overloads tell it from a plain JobInput. */
export function isDefinedJob(v: unknown): v is DefinedJob {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as DefinedJob).type === "string" &&
    typeof (v as DefinedJob).argsSchema === "object" &&
    typeof (v as DefinedJob).defaults === "object"
  );
}

/**
 * The job input of one queue call: the definition's defaults, then the call's options, with `args` checked
 * against the schema first (INVALID_ARGUMENT naming `args.<field>`, nothing sent). The args go out as the
 * caller wrote them: the worker parses them with the same schema.
 */
export function jobInputOf<D extends DefinedJob>(
  def: D,
  args: ArgsOf<D>,
  options: Partial<Omit<JobInput, "type" | "args" | "tenantId">> = {},
  root = "args",
): JobInput {
  parseOrThrow(def.argsSchema, args, root);
  return {
    name: def.type,
    ...def.defaults,
    ...options,
    type: def.type,
    args: args as Record<string, unknown>,
  };
}
