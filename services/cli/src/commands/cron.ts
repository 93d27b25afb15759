/**
 * `taskjet cron "<expr>"`: the next fire times of a cron expression, marking DST shifts. Pure: no NATS.
 * `--dst-rule` previews with any of a job's DST rules (`single-value`, the default, as for a job that sets
 * none; `no-wildcard`; `quartz`), and the last line names the dialect, zone and rule the preview used, so
 * a preview always says which rule it shows.
 */
import type { Command } from "commander";
import {
  cronDialects,
  dstRules,
  nextFireTimes,
  ValidationError,
  wallClock,
  type CronDialect,
  type DstRule,
} from "@taskjet/protocol";
import type { CommandContext } from "../context.js";
import { intFlag } from "../config.js";
import { printJson, table } from "../output.js";

export function cronCommand(program: Command, ctx: CommandContext): void {
  program
    .command("cron")
    .description("show the next fire times of a cron expression (marks DST shifts)")
    .argument("<expr>", 'cron expression, e.g. "0 30 2 * * ?" (quartz) or "30 2 * * *" (standard)')
    .option("--tz <zone>", "IANA time zone", "UTC")
    .option("--dialect <dialect>", `cron dialect: ${cronDialects.join(" | ")}`, "quartz")
    .option(
      "--dst-rule <rule>",
      `DST rule: ${dstRules.join(" | ")} (quartz: as Quartz, quartz dialect only)`,
      "single-value",
    )
    .option("--count <n>", "how many fire times (1-1000)", "10")
    .option("--after <time>", "start after this ISO 8601 time (default now)")
    .action((expr: string, _o, cmd: Command) => {
      const o = cmd.optsWithGlobals<{
        tz: string;
        dialect: string;
        dstRule: string;
        count: string;
        after?: string;
        json?: boolean;
      }>();
      if (!(cronDialects as readonly string[]).includes(o.dialect)) {
        throw new ValidationError(`--dialect must be one of ${cronDialects.join(", ")}, got "${o.dialect}"`, {
          field: "dialect",
        });
      }
      if (!(dstRules as readonly string[]).includes(o.dstRule)) {
        throw new ValidationError(`--dst-rule must be one of ${dstRules.join(", ")}, got "${o.dstRule}"`, {
          field: "dstRule",
        });
      }
      const count = intFlag(o.count, "count", 1, 1000) ?? 10;
      const after = o.after === undefined ? Date.now() : Date.parse(o.after);
      if (Number.isNaN(after)) {
        throw new ValidationError(`--after must be an ISO 8601 time, got "${o.after}"`, { field: "after" });
      }
      const fires = nextFireTimes(
        {
          expression: expr,
          dialect: o.dialect as CronDialect,
          timeZone: o.tz,
          dstRule: o.dstRule as DstRule,
        },
        count,
        after,
      );
      if (o.json) return printJson(ctx.io, fires);
      ctx.out(
        table(
          ["#", "UTC", `LOCAL (${o.tz})`, "OFFSET", "DST"],
          fires.map((f, i) => [
            i + 1,
            f.iso,
            localTime(f.at, o.tz),
            f.offset,
            f.dstShift ? `DST shift ${f.dstShift.fromOffset} -> ${f.dstShift.toOffset}` : "",
          ]),
        ),
      );
      ctx.out(`dialect ${o.dialect}, zone ${o.tz}, DST rule ${o.dstRule}\n`);
      if (fires.length < count) ctx.io.stderr.write(`the expression fires only ${fires.length} more times\n`);
    });
}

/** `2026-03-29 02:30:00`: the wall-clock time in `zone`. */
function localTime(ms: number, zone: string): string {
  const c = wallClock(zone, ms);
  return `${c.year}-${c.month}-${c.day} ${c.hour}:${c.minute}:${c.second}`;
}
