/**
 * Exit codes and the one error line the CLI prints:
 *
 *   0  success (also: a live command stopped with Ctrl-C)
 *   1  the operation failed (NOT_FOUND, UNAVAILABLE, TIMEOUT, CONFLICT, ..., or a bulk result with a failure)
 *   2  bad input: INVALID_ARGUMENT or DECODE_ERROR (flags, files, job JSON, cron expressions), usage errors
 *
 * stderr: `error <CODE> (<field>): <message>`; with --json also `{"error":{...}}` on stdout.
 */
import { errorLine, ErrorCode, toTaskjetError, type TaskjetError } from "@taskjet/protocol";

export { errorLine };

export const ExitCode = { Ok: 0, Failed: 1, BadInput: 2 } as const;

export function exitCodeOf(err: TaskjetError): number {
  return err.code === ErrorCode.InvalidArgument || err.code === ErrorCode.Decode
    ? ExitCode.BadInput
    : ExitCode.Failed;
}

/** Prints the error the CLI way and returns the exit code to use. */
export function reportError(
  err: unknown,
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
  json: boolean,
): number {
  const e = toTaskjetError(err);
  io.stderr.write(errorLine(e) + "\n");
  if (e.code === ErrorCode.Internal && err instanceof Error && err.stack && process.env["TASKJET_DEBUG"]) {
    io.stderr.write(err.stack + "\n");
  }
  if (json) io.stdout.write(JSON.stringify({ error: e.toBody() }) + "\n");
  return exitCodeOf(e);
}
