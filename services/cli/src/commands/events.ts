/** `taskjet events`: live tail of job events until Ctrl-C. */
import type { Command } from "commander";
import { eventPhases, ValidationError, type EventPhase } from "@taskjet/protocol";
import type { JobEvent } from "@taskjet/client";
import type { CommandContext } from "../context.js";
import type { GlobalFlags } from "../config.js";

interface EventFlags extends GlobalFlags {
  job?: string;
  group?: string;
  type?: string;
  phase?: string[];
}

export function eventsCommand(program: Command, ctx: CommandContext): void {
  program
    .command("events")
    .description("tail job events (before, after, skipped, deadletter) until Ctrl-C")
    .option("--job <id>", "only this job")
    .option("--group <group>", "only this group")
    .option("--type <type>", "only this job type")
    .option("--phase <phase...>", `only these phases (${eventPhases.join(", ")})`)
    .action(async (_o, cmd: Command) => {
      const flags = cmd.optsWithGlobals<EventFlags>();
      const phases = flags.phase?.map((p) => {
        if (!(eventPhases as readonly string[]).includes(p)) {
          throw new ValidationError(`--phase must be one of ${eventPhases.join(", ")}, got "${p}"`, {
            field: "phase",
          });
        }
        return p as EventPhase;
      });
      ctx.markLive();
      await ctx.withClient(flags, async (client) => {
        const sub = client.events.subscribe(
          {
            ...(flags.job ? { jobId: flags.job } : {}),
            ...(flags.group ? { group: flags.group } : {}),
            ...(flags.type ? { type: flags.type } : {}),
            ...(phases ? { phases } : {}),
          },
          { onError: (err) => ctx.io.stderr.write(`warning ${err.code}: ${err.message}\n`) },
        );
        await sub.ready();
        ctx.io.stderr.write(`listening on ${client.events.subjectOf({})} (Ctrl-C to stop)\n`);
        void ctx.interrupted.then(() => sub.close());
        for await (const e of sub) {
          ctx.out(flags.json ? JSON.stringify(e) + "\n" : eventLine(e));
        }
      });
    });
}

function eventLine(e: JobEvent): string {
  const d = e.data;
  const extra = [
    `attempt=${d.attempt}`,
    d.durationMs !== undefined ? `ms=${d.durationMs}` : "",
    d.node ? `node=${d.node}` : "",
    d.reason ? `reason=${d.reason}` : "",
    d.error ? `error=${JSON.stringify(d.error)}` : "",
    d.result !== undefined ? `result=${JSON.stringify(d.result)}` : "",
  ].filter(Boolean);
  return `${e.time || new Date().toISOString()} ${e.phase.padEnd(10)} ${e.jobId} ${e.group}/${e.jobType} ${d.status} ${extra.join(" ")}\n`;
}
