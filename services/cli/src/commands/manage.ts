/** Job management: queue, get, list, trigger|pause|resume|remove|start|stop, logs. */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { bulkOps, type BulkOp, type TaskjetClient } from "@taskjet/client";
import {
  DecodeError,
  ValidationError,
  errorFromBody,
  type BulkResult,
  type JobInput,
  type JobView,
  type ListFilter,
} from "@taskjet/protocol";
import type { CommandContext } from "../context.js";
import type { GlobalFlags } from "../config.js";
import { intFlag } from "../config.js";
import { ExitCode } from "../errors.js";
import { keyValues, printJson, shortTime, table } from "../output.js";

type Flags = GlobalFlags & Record<string, unknown>;
const flagsOf = (cmd: Command) => cmd.optsWithGlobals<Flags>();

/** The scheduler's warnings (e.g. no worker has registered the type yet) on stderr: stdout stays the result. */
function warn(ctx: CommandContext, warnings: readonly string[] | undefined): void {
  for (const w of warnings ?? []) ctx.io.stderr.write(`warning: ${w}\n`);
}

export function manageCommands(program: Command, ctx: CommandContext, setExit: (code: number) => void): void {
  program
    .command("queue")
    .description("queue one job or an array of jobs from a JSON file (- reads stdin)")
    .argument("<file>", "JSON file with a job or an array of jobs (protocol field names), or - for stdin")
    .action(async (file: string, _o, cmd: Command) => {
      const flags = flagsOf(cmd);
      const body = readJson(file);
      await ctx.withClient(flags, async (client) => {
        if (Array.isArray(body)) {
          const r = await client.scheduler.queueMany(body as JobInput[]);
          warn(ctx, r.warnings);
          if (flags.json) return printJson(ctx.io, r);
          ctx.out(
            table(
              ["ID", "RESULT"],
              r.results.map((x) => [x.id, x.created ? "created" : "exists"]),
            ),
          );
        } else {
          const r = await client.scheduler.queue(body as JobInput);
          warn(ctx, r.warnings);
          if (flags.json) return printJson(ctx.io, r);
          ctx.out(`${r.created ? "created" : "exists"} ${r.id}\n`);
        }
      });
    });

  program
    .command("get")
    .description("show one job")
    .argument("<id>", "job id")
    .action(async (id: string, _o, cmd: Command) => {
      const flags = flagsOf(cmd);
      await ctx.withClient(flags, async (client) => {
        const job = await client.scheduler.get(id);
        if (flags.json) return printJson(ctx.io, job);
        ctx.out(describeJob(job));
      });
    });

  withFilter(program.command("list"))
    .description("list jobs (filters combine)")
    .option("--limit <n>", "page size (1-1000)", "100")
    .option("--offset <n>", "skip this many jobs", "0")
    .action(async (_o, cmd: Command) => {
      const flags = flagsOf(cmd);
      const filter = filterOf(flags);
      const limit = intFlag(flags["limit"] as string, "limit", 1, 1000);
      const offset = intFlag(flags["offset"] as string, "offset", 0, Number.MAX_SAFE_INTEGER);
      await ctx.withClient(flags, async (client) => {
        const page = await client.scheduler.list({ ...filter, limit, offset });
        if (flags.json) return printJson(ctx.io, page);
        ctx.out(jobTable(page.jobs));
        const more = page.nextOffset !== undefined ? `, more from --offset ${page.nextOffset}` : "";
        ctx.io.stderr.write(`${page.jobs.length} of ${page.total} jobs${more}\n`);
      });
    });

  for (const op of bulkOps) {
    const command = withFilter(program.command(op))
      .description(`${opHelp[op]}: the jobs named, or every job matching the filter flags`)
      .argument("[ids...]", "job ids")
      .option("--all", "every job of the tenant (when no ids and no filter are given)");
    if (op === "remove") {
      command.option(
        "--force",
        "also remove jobs that are not stopped or completed (pause, interrupt, remove)",
      );
    }
    command.action(async (ids: string[], _o, cmd: Command) => {
      const flags = flagsOf(cmd);
      const filter = filterOf(flags);
      const hasFilter = Object.keys(filter).length > 0;
      if (ids.length > 0 && hasFilter) {
        throw new ValidationError("give job ids or filter flags, not both", { field: "ids" });
      }
      if (ids.length === 0 && !hasFilter && !flags["all"]) {
        throw new ValidationError(`name the jobs to ${op}: ids, filter flags, or --all`, { field: "ids" });
      }
      if (flags["all"] && (ids.length > 0 || hasFilter)) {
        throw new ValidationError("--all selects every job: give it without ids or filter flags", {
          field: "all",
        });
      }
      await ctx.withClient(flags, async (client) => {
        const r = await runBulk(client, op, ids, filter, Boolean(flags["force"]));
        if (flags.json) printJson(ctx.io, r);
        else ctx.out(bulkTable(op, r));
        const failed = r.results.filter((x) => !x.ok);
        if (failed.length > 0) {
          // one failed job of one named: its typed error decides the exit code, as for any other command
          if (ids.length === 1 && failed[0]?.error) throw errorFromBody(failed[0].error);
          setExit(ExitCode.Failed);
        }
      });
    });
  }

  program
    .command("logs")
    .description("run log of a job, newest last")
    .argument("<id>", "job id")
    .option("--limit <n>", "entries (1-1000)", "50")
    .option("--offset <n>", "skip this many of the newest entries", "0")
    .action(async (id: string, _o, cmd: Command) => {
      const flags = flagsOf(cmd);
      const limit = intFlag(flags["limit"] as string, "limit", 1, 1000);
      const offset = intFlag(flags["offset"] as string, "offset", 0, Number.MAX_SAFE_INTEGER);
      await ctx.withClient(flags, async (client) => {
        const page = await client.scheduler.logPage(id, { limit, offset });
        const entries = page.entries;
        if (page.nextOffset !== undefined) {
          ctx.io.stderr.write(`older entries from --offset ${page.nextOffset}\n`);
        }
        if (flags.json) return printJson(ctx.io, entries);
        ctx.out(
          table(
            ["FINISHED", "NOMINAL", "ATTEMPT", "OUTCOME", "MS", "NODE", "DETAIL"],
            entries.map((e) => [
              shortTime(e.finishedAt),
              shortTime(e.nominalTime),
              e.attempt,
              e.outcome,
              e.durationMs,
              e.node,
              e.error ?? e.reason ?? (e.result === undefined ? undefined : JSON.stringify(e.result)),
            ]),
          ),
        );
      });
    });
}

const opHelp: Record<BulkOp, string> = {
  trigger: "fire now, outside the schedule",
  pause: "pause (fires are skipped until resumed)",
  resume: "resume paused jobs",
  remove: "remove stopped or completed jobs from the store (--force: any job)",
  start: "start stopped jobs",
  stop: "stop jobs (ends their schedule)",
};

/** The same selectors REST sends: ids, a filter, or all: true (the scheduler refuses an empty filter). */
async function runBulk(
  client: TaskjetClient,
  op: BulkOp,
  ids: string[],
  filter: ListFilter,
  force: boolean,
): Promise<BulkResult> {
  const extra = force ? { force: true } : {};
  if (ids.length > 0) {
    // one id goes as `ids` too: the result table shows its failure like any other
    return client.scheduler.bulk(op, ids, extra);
  }
  if (Object.keys(filter).length === 0) return client.scheduler.bulk(op, { all: true }, extra);
  return client.scheduler.bulk(op, { filter }, extra);
}

export function withFilter(cmd: Command): Command {
  return cmd
    .option("--status <status>", "none|queuing|running|failedRetry|paused|stopped|completed")
    .option("--group <group>", "job group")
    .option("--type <type>", "job (handler) type")
    .option("--job-type <jobType>", "once|period|persistent")
    .option("--node <node>", "node name")
    .option("--name <name>", "job name");
}

function filterOf(flags: Flags): ListFilter {
  const f: Record<string, unknown> = {
    status: flags["status"],
    group: flags["group"],
    type: flags["type"],
    jobType: flags["jobType"],
    node: flags["node"],
    name: flags["name"],
  };
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)) as ListFilter;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = file === "-" ? readFileSync(0, "utf8") : readFileSync(file, "utf8");
  } catch (err) {
    throw new ValidationError(`cannot read ${file === "-" ? "stdin" : file}: ${(err as Error).message}`, {
      field: "file",
    });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new DecodeError(`${file === "-" ? "stdin" : file} is not valid JSON: ${(err as Error).message}`, {
      field: "file",
    });
  }
}

function schedule(j: JobView): string | undefined {
  if (j.jobType === "period") return `${j.cron} ${j.timeZone === "UTC" ? "" : j.timeZone}`.trim();
  if (j.jobType === "persistent") return `every ${j.intervalSeconds}s`;
  return j.beginTime ? `at ${shortTime(j.beginTime)}` : "once";
}

function jobTable(jobs: JobView[]): string {
  return table(
    ["ID", "NAME", "GROUP", "TYPE", "STATUS", "SCHEDULE", "NEXT RUN", "RUNS", "NODE"],
    jobs.map((j) => [
      j.id,
      j.name,
      j.group,
      j.type,
      j.status,
      schedule(j),
      shortTime(j.nextRunTime),
      j.triggerCount,
      j.nodeName ?? "(any)",
    ]),
  );
}

function describeJob(j: JobView): string {
  return keyValues([
    ["id", j.id],
    ["name", j.name],
    ["group", j.group],
    ["type", j.type],
    ["jobType", j.jobType],
    ["status", j.status],
    ["schedule", schedule(j)],
    // which dialect and DST rule the scheduler applies; `taskjet cron --dst-rule` previews any of them
    ["cron", j.jobType === "period" ? `${j.cronDialect} dialect, DST rule ${j.dstRule}` : undefined],
    ["priority", j.priority],
    ["node", j.nodeName ?? "(any)"],
    ["tenant", j.tenantId],
    ["args", j.args],
    ["triggerCount", j.triggerCount],
    ["tryCount", `${j.tryCount} of ${j.maxTryCount}`],
    ["maxCount", j.maxCount || "unlimited"],
    ["isAbandoned", j.isAbandoned],
    ["lastRunTime", j.lastRunTime],
    ["nextRunTime", j.nextRunTime],
    ["lastError", j.lastError],
    ["result", j.result],
    ["actions", j.actions.length > 0 ? j.actions : undefined],
    ["createdAt", j.createdAt],
    ["updatedAt", j.updatedAt],
    ["revision", j.revision],
  ]);
}

function bulkTable(op: BulkOp, r: BulkResult): string {
  return table(
    ["ID", op.toUpperCase()],
    r.results.map((x) => [x.id, x.ok ? "ok" : `error ${x.error?.code ?? "?"}: ${x.error?.message ?? ""}`]),
  );
}
