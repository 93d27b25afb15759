#!/usr/bin/env node
/** The `taskjet` executable. Exit codes: see errors.ts and docs/cli.md. */
import { CommandContext } from "./context.js";
import { run } from "./program.js";

let interrupt!: () => void;
const interrupted = new Promise<void>((r) => (interrupt = r));
const ctx = new CommandContext({ stdout: process.stdout, stderr: process.stderr }, process.env, interrupted);
let signals = 0;

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    signals++;
    // a live command stops gracefully on the first signal; a second one (or any other command) ends at once
    if (!ctx.isLive || signals > 1) process.exit(130);
    interrupt();
  });
}

run(process.argv.slice(2), ctx).then(
  (code) => {
    process.exitCode = code;
    // nothing should keep the process alive after the command: a lingering handle would hang scripts
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`error INTERNAL: ${String(err)}\n`);
    process.exit(1);
  },
);
