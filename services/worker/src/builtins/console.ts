/** `console`: logs `message` (info, with the job's id, type and fire). The seed's ConsoleJob. */
import { z } from "zod";
import type { HandlerContext } from "@taskjet/worker-runtime";

export const ConsoleArgsSchema = z.strictObject({
  message: z.string({ error: "message must be a string" }).max(10_000),
});
export type ConsoleArgs = z.output<typeof ConsoleArgsSchema>;

export async function consoleHandler(ctx: HandlerContext<ConsoleArgs>): Promise<unknown> {
  ctx.logger.info({ message: ctx.args.message }, ctx.args.message);
  return { message: ctx.args.message };
}
