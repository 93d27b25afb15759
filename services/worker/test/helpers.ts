/** Test scaffolding for the worker service: a namespace per file, jobs stored and fired by hand. */
import { Writable } from "node:stream";
import { AckPolicy, DeliverPolicy, jetstream, type JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { pino, type Logger } from "pino";
import {
  decode,
  initialState,
  namespace,
  parseJobInput,
  type JobDefinition,
  type JobInput,
  type Namespace,
  type StoredJob,
} from "@taskjet/protocol";
import { ensureTopology, JobStore, type Topology } from "@taskjet/nats";
import {
  buildFire,
  connectTo,
  publishFire,
  type BuildFireOptions,
  uniqueName,
  waitFor,
  type NatsServerFixture,
} from "@taskjet/testing";
import { type WorkerRunLogEntry } from "@taskjet/worker-runtime";

export class ServiceTestEnv {
  nc!: NatsConnection;
  js!: JetStreamClient;
  topo!: Topology;
  store!: JobStore;
  readonly ns: Namespace = namespace(uniqueName("tw"));

  constructor(readonly server: NatsServerFixture) {}

  async init(): Promise<this> {
    this.nc = await connectTo(this.server.url, { maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    this.js = jetstream(this.nc);
    this.topo = await ensureTopology(this.nc, this.ns);
    this.store = new JobStore(this.topo.jobs, this.ns);
    return this;
  }

  async job(input: Partial<JobInput> & { type: string }): Promise<JobDefinition> {
    const parsed = parseJobInput({ name: input.type, ...input, id: input.id ?? uniqueName("job") });
    const def = { ...parsed, id: parsed.id! } as JobDefinition;
    await this.store.create({ def, state: initialState(new Date().toISOString()) });
    return def;
  }

  async fire(def: JobDefinition, opts: BuildFireOptions = {}) {
    const fire = buildFire(def, opts);
    await publishFire(this.js, this.ns, fire);
    return fire;
  }

  record(def: JobDefinition): Promise<StoredJob | undefined> {
    return this.store.get(this.ns.jobKey(def));
  }

  waitRecord(def: JobDefinition, pred: (j: StoredJob) => boolean, message: string, timeoutMs = 10_000) {
    return waitFor(
      async () => {
        const j = await this.record(def);
        return j && pred(j) ? j : undefined;
      },
      { message, timeoutMs },
    );
  }

  async runLog(def: JobDefinition): Promise<WorkerRunLogEntry[]> {
    const subject = this.ns.log(def.tenantId, def.id);
    const info = await this.topo.jsm.streams.info(this.ns.streams.log, { subjects_filter: subject });
    const count = info.state.subjects?.[subject] ?? 0;
    if (count === 0) return [];
    const ci = await this.topo.jsm.consumers.add(this.ns.streams.log, {
      filter_subject: subject,
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
      inactive_threshold: 30_000_000_000,
    });
    const consumer = await this.js.consumers.get(this.ns.streams.log, ci.name);
    const out: WorkerRunLogEntry[] = [];
    try {
      while (out.length < count) {
        const m = await consumer.next({ expires: 2000 });
        if (!m) break;
        out.push(decode(m.data) as WorkerRunLogEntry);
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.nc?.close();
  }
}

/** A pino logger whose lines the test can read. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split("\n"))
        if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: "info" }, stream), lines };
}
