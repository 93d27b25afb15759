// The chaos suite's handler module (loaded by the worker service with --handlers): every run of a `chaos`
// job appends one line to $CHAOS_RUNS_FILE before it returns, so runs are counted exactly, whatever
// happens to the processes and to NATS afterwards. A line: `<fireId> <attempt> <delivery> <pid> <ms>`.
import { appendFileSync } from "node:fs";

const file = process.env.CHAOS_RUNS_FILE;
if (!file) throw new Error("CHAOS_RUNS_FILE is not set");

export function register(worker) {
  worker.register("chaos", async (ctx) => {
    const ms = Number(ctx.args.ms ?? 0);
    if (ms > 0) await new Promise((r) => setTimeout(r, Math.random() * ms));
    appendFileSync(file, `${ctx.fireId} ${ctx.attempt} ${ctx.delivery} ${process.pid} ${Date.now()}\n`);
    return "ok";
  });
}
