/** `sleep`: waits `ms` (ends early, failing, when the run is aborted). The seed's SleepJob. */
import { z } from "zod";
import type { HandlerContext } from "@taskjet/worker-runtime";

export const SleepArgsSchema = z.strictObject({
  ms: z.number({ error: "ms must be a number of milliseconds" }).int().nonnegative().max(86_400_000),
});
export type SleepArgs = z.output<typeof SleepArgsSchema>;

export function sleepHandler(ctx: HandlerContext<SleepArgs>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (ctx.signal.aborted) return reject(ctx.signal.reason as Error);
    const timer = setTimeout(() => resolve({ sleptMs: ctx.args.ms }), ctx.args.ms);
    ctx.signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(ctx.signal.reason as Error);
      },
      { once: true },
    );
  });
}
