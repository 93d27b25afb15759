/**
 * `taskjet status`: the leader, the other replicas, workers per node, the run stream's backlog per node and
 * job type, and its consumers' lag.
 */
import type { Command } from "commander";
import type { ConsumerLag } from "@taskjet/client";
import type { SchedulerStatus } from "@taskjet/protocol";
import type { CommandContext } from "../context.js";
import type { GlobalFlags } from "../config.js";
import { printJson, shortTime, table } from "../output.js";

export function statusCommand(program: Command, ctx: CommandContext): void {
  program
    .command("status")
    .description("scheduler leader and replicas, workers per node, consumer lag of the run stream")
    .action(async (_o, cmd: Command) => {
      const flags = cmd.optsWithGlobals<GlobalFlags>();
      await ctx.withClient(flags, async (client) => {
        const [status, consumers] = await Promise.all([
          client.scheduler.status(),
          client.cluster.consumers(),
        ]);
        if (flags.json) return printJson(ctx.io, { ...status, consumers });
        ctx.out(render(status, consumers));
      });
    });
}

function render(s: SchedulerStatus, consumers: ConsumerLag[]): string {
  const parts: string[] = [];
  const l = s.leader;
  parts.push(
    l
      ? `leader: ${l.replicaId}  host ${l.host}  pid ${l.pid}  epoch ${l.epoch}  since ${shortTime(l.since)}\n`
      : "leader: none (no replica holds the lease: fires wait)\n",
  );
  parts.push(`jobs: ${s.jobs.total} total, ${s.jobs.active} active\n\n`);
  const others = s.replicas.filter((r) => r.replicaId !== l?.replicaId);
  parts.push(`replicas (${s.replicas.length}):\n`);
  parts.push(
    table(
      ["REPLICA", "ROLE", "HOST", "PID", "STARTED"],
      [...(l ? s.replicas.filter((r) => r.replicaId === l.replicaId) : []), ...others].map((r) => [
        r.replicaId,
        r.role,
        r.host,
        r.pid,
        shortTime(r.startedAt),
      ]),
    ),
  );
  const nodes = new Map<string, typeof s.workers>();
  for (const w of s.workers) nodes.set(w.node, [...(nodes.get(w.node) ?? []), w]);
  parts.push(`\nworkers (${s.workers.length} on ${nodes.size} nodes):\n`);
  parts.push(
    table(
      ["NODE", "WORKER", "HOST", "PID", "RUNNING", "TYPES"],
      [...nodes.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .flatMap(([node, ws]) =>
          ws.map((w) => [
            node,
            w.workerId,
            w.host,
            w.pid,
            `${w.running}/${w.concurrency}`,
            w.types.join(","),
          ]),
        ),
    ),
  );
  parts.push(`\nbacklog (fires stored, not yet acked):\n`);
  parts.push(
    s.backlog.length === 0
      ? "  none\n"
      : table(
          ["NODE", "TYPE", "FIRES"],
          s.backlog.map((b) => [b.node, b.type, b.messages]),
        ),
  );
  parts.push(`\nrun stream consumers:\n`);
  parts.push(
    table(
      ["CONSUMER", "FILTER", "PENDING", "ACK PENDING", "REDELIVERED", "WAITING"],
      consumers.map((c) => [
        c.name,
        c.filterSubjects.join(","),
        c.pending,
        c.ackPending,
        c.redelivered,
        c.waiting,
      ]),
    ),
  );
  return parts.join("");
}
