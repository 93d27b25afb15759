/** The `taskjet` command tree (commander). `run()` parses, runs, and returns the exit code. */
import { Command, CommanderError } from "commander";
import { ValidationError } from "@taskjet/protocol";
import { CommandContext } from "./context.js";
import { ExitCode, reportError } from "./errors.js";
import { manageCommands } from "./commands/manage.js";
import { eventsCommand } from "./commands/events.js";
import { cronCommand } from "./commands/cron.js";
import { statusCommand } from "./commands/status.js";
import { serveCommands } from "./commands/serve.js";
import { devCommand } from "./commands/dev.js";

export const VERSION = "0.1.0";

export function buildProgram(ctx: CommandContext, setExit: (code: number) => void): Command {
  const program = new Command("taskjet")
    .description("taskjet: distributed background jobs on NATS JetStream")
    .version(VERSION)
    .option(
      "--server <urls>",
      "NATS server URL(s), comma-separated (env NATS_URL; default nats://127.0.0.1:4222)",
    )
    .option("--creds <file>", "NATS credentials file (env NATS_CREDS)")
    .option("--user <user>", "NATS user (env NATS_USER)")
    .option("--password <password>", "NATS password (env NATS_PASSWORD)")
    .option("--nats-token <token>", "NATS auth token (env NATS_TOKEN)")
    .option("--tls-ca <file>", "CA certificate PEM (env NATS_TLS_CA)")
    .option("--tls-cert <file>", "client certificate PEM (env NATS_TLS_CERT)")
    .option("--tls-key <file>", "client key PEM (env NATS_TLS_KEY)")
    .option("--prefix <prefix>", "subject prefix (env TASKJET_PREFIX; default taskjet)")
    .option("--tenant <tenant>", "tenant (env TASKJET_TENANT; default default)")
    .option("--timeout <ms>", "control request timeout in ms (env TASKJET_REQUEST_TIMEOUT_MS; default 10000)")
    .option("--json", "JSON output for scripts")
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      "after",
      "\nExit codes: 0 ok, 1 the operation failed, 2 bad input (INVALID_ARGUMENT, DECODE_ERROR, usage).\nSee docs/cli.md.",
    );
  manageCommands(program, ctx, setExit);
  eventsCommand(program, ctx);
  cronCommand(program, ctx);
  statusCommand(program, ctx);
  serveCommands(program, ctx);
  devCommand(program, ctx);
  // every command reports usage errors the same way instead of exiting on its own
  const configure = (cmd: Command) => {
    cmd.exitOverride().configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
      outputError: () => undefined,
    });
    cmd.commands.forEach(configure);
  };
  configure(program);
  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function run(
  argv: string[],
  ctx: CommandContext = new CommandContext(
    { stdout: process.stdout, stderr: process.stderr },
    process.env,
    new Promise(() => undefined),
  ),
): Promise<number> {
  const io = ctx.io;
  let exitCode: number = ExitCode.Ok;
  const program = buildProgram(ctx, (c) => (exitCode = Math.max(exitCode, c)));
  const json = argv.includes("--json");
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.exitCode === 0) {
        return ExitCode.Ok;
      }
      if (err.code === "commander.help" || err.code === "commander.executeSubCommandAsync") {
        return ExitCode.BadInput;
      }
      const message = `${err.message.replace(/^error: /, "").replace(/\n/g, " ")} (see taskjet --help)`;
      return reportError(new ValidationError(message, { field: "usage" }), io, json);
    }
    return reportError(err, io, json);
  }
}
