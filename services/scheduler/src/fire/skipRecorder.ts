/**
 * Records skipped fires (promise 2: nothing dropped without a trace). For each skipped nominal time:
 *   - a RunLogEntry with outcome "skipped" and the reason, on the run-log stream `<p>.log.<tenant>.<jobId>`
 *     (JetStream, acked before the job's cursor or high-water mark moves past it; Nats-Msg-Id
 *     `skip:<fireId>` so a new leader replaying the same gap does not log it twice);
 *   - a CloudEvents `skipped` event on `<p>.evt.<tenant>.<group>.<type>.<jobId>.skipped` (core NATS).
 * A gap too long to record one by one becomes ONE entry and ONE event for the whole range, with
 * `count`, `throughNominalTime` and `approximate` added to the entry and the event data (the protocol types
 * have no count field yet). The job's state.skippedCount is incremented by the caller, in the same
 * compare-and-set write that moves lastFireTime past the gap.
 */
import { randomUUID } from "node:crypto";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/nats-core";
import type { JetStreamClient } from "@nats-io/jetstream";
import {
  CE_SPECVERSION,
  encode,
  eventType,
  fireIdOf,
  JSON_TYPE,
  MSGPACK,
  type JobEventData,
  type JobRecord,
  type Namespace,
  type RunLogEntry,
} from "@taskjet/protocol";
import type { SkipRange } from "../plan/planner.js";

/** A skipped-fire log entry; a summary of a long gap carries the count. */
export interface SkippedLogEntry extends RunLogEntry {
  count?: number;
  throughNominalTime?: string;
  approximate?: boolean;
}

export class SkipRecorder {
  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly ns: Namespace,
    private readonly opts: { source: string; publishTimeoutMs: number; now: () => number },
  ) {}

  /** Records every range; resolves once the log entries are stored. Returns the number of fires skipped. */
  async record(record: JobRecord, ranges: SkipRange[]): Promise<number> {
    let total = 0;
    const writes: Promise<unknown>[] = [];
    for (const r of ranges) {
      total += r.count;
      if (r.times) {
        for (const t of r.times) writes.push(this.one(record, t, t, 1, false, r.reason));
      } else {
        writes.push(this.one(record, r.fromMs, r.toMs, r.count, r.approximate, r.reason));
      }
    }
    await Promise.all(writes);
    return total;
  }

  private async one(
    record: JobRecord,
    fromMs: number,
    toMs: number,
    count: number,
    approximate: boolean,
    reason: string,
  ): Promise<void> {
    const { def, state } = record;
    const nowIso = new Date(this.opts.now()).toISOString();
    const fireId = fireIdOf(def.tenantId, def.id, fromMs);
    const summary = count > 1 || fromMs !== toMs;
    const text = summary
      ? `${reason} (${approximate ? "about " : ""}${count} fires from ${new Date(fromMs).toISOString()} to ${new Date(toMs).toISOString()})`
      : reason;
    const entry: SkippedLogEntry = {
      fireId,
      jobId: def.id,
      tenantId: def.tenantId,
      group: def.group,
      type: def.type,
      name: def.name,
      attempt: 1,
      nominalTime: new Date(fromMs).toISOString(),
      outcome: "skipped",
      finishedAt: nowIso,
      reason: text,
    };
    if (summary)
      Object.assign(entry, { count, throughNominalTime: new Date(toMs).toISOString(), approximate });
    const lh = natsHeaders();
    lh.set("Content-Type", MSGPACK);
    await this.js.publish(this.ns.log(def.tenantId, def.id), encode(entry), {
      msgID: summary ? `skip:${fireId}-${toMs}` : `skip:${fireId}`,
      headers: lh,
      timeout: this.opts.publishTimeoutMs,
    });

    const data: JobEventData & { count?: number; throughNominalTime?: string } = {
      key: this.ns.jobKey(def),
      fireId,
      type: def.type,
      name: def.name,
      group: def.group,
      tenantId: def.tenantId,
      args: def.args ?? {},
      status: state.status,
      phase: "skipped",
      nominalTime: entry.nominalTime,
      attempt: 1,
      triggered: state.triggerCount,
      repeatCount: def.maxCount,
      reason: text,
    };
    if (state.lastRunTime) data.lastRunTime = state.lastRunTime;
    if (summary) Object.assign(data, { count, throughNominalTime: new Date(toMs).toISOString() });
    const eh = natsHeaders();
    eh.set("ce-specversion", CE_SPECVERSION);
    eh.set("ce-id", randomUUID());
    eh.set("ce-type", eventType("skipped"));
    eh.set("ce-source", this.opts.source);
    eh.set("ce-subject", fireId);
    eh.set("ce-time", nowIso);
    eh.set("Content-Type", JSON_TYPE);
    this.nc.publish(this.ns.event(def, "skipped"), encode(data, "json"), { headers: eh });
  }
}
