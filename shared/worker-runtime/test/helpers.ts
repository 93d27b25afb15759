/**
 * Test scaffolding: a namespace of its own per test (unique prefix), jobs created in the store directly and
 * fires published by hand (no scheduler), readers for the run log and dead-letter streams.
 */
import { AckPolicy, DeliverPolicy, jetstream, type JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { pino } from "pino";
import {
  decode,
  initialState,
  namespace,
  parseJobInput,
  type DeadLetter,
  type FireMessage,
  type JobDefinition,
  type JobInput,
  type Namespace,
  type StoredJob,
} from "@taskjet/protocol";
import { ensureTopology, JobStore, type Topology, type TopologyOptions } from "@taskjet/nats";
import { afterAll, afterEach, beforeAll } from "vitest";
import {
  buildFire,
  connectTo,
  publishFire,
  type BuildFireOptions,
  startNats,
  uniqueName,
  waitFor,
  type NatsServerFixture,
} from "@taskjet/testing";
import {
  createWorker,
  type Worker,
  type WorkerOptions,
  type WorkerRunLogEntry,
} from "@taskjet/worker-runtime";

export const quietLogger = pino({ level: process.env["TEST_LOG_LEVEL"] ?? "silent" });

export class TestEnv {
  readonly workers: Worker[] = [];
  nc!: NatsConnection;
  js!: JetStreamClient;
  topo!: Topology;
  store!: JobStore;
  readonly ns: Namespace;

  constructor(
    readonly server: NatsServerFixture,
    readonly topologyOptions: TopologyOptions = {},
    /** the test's own connection's credentials, on a server with authorization */
    private readonly auth: { user?: string; pass?: string } = {},
  ) {
    this.ns = namespace(uniqueName("tj"));
  }

  async init(): Promise<this> {
    this.nc = await connectTo(this.server.url, {
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
      ...this.auth,
    });
    this.js = jetstream(this.nc);
    this.topo = await ensureTopology(this.nc, this.ns, this.topologyOptions);
    this.store = new JobStore(this.topo.jobs, this.ns);
    return this;
  }

  /** A worker on this namespace with its own connection (reconnecting forever, like a service). */
  worker(opts: WorkerOptions = {}): Worker {
    const w = createWorker({
      nats: { servers: [this.server.url], prefix: this.ns.prefix },
      topology: this.topologyOptions,
      logger: quietLogger,
      ackWaitMs: 5_000,
      shutdownGraceMs: 2_000,
      heartbeatMs: 1_000,
      idlePollMs: 1_000,
      // most tests read the state right after each run; stateCoalescer has its own tests
      coalesceStateMs: 0,
      ...opts,
    });
    this.workers.push(w);
    return w;
  }

  /** Stores a new job (as the API would) and returns its definition. */
  async job(input: Partial<JobInput> & { type: string }): Promise<JobDefinition> {
    const parsed = parseJobInput({ name: input.type, ...input, id: input.id ?? uniqueName("job") });
    const def = { ...parsed, id: parsed.id! } as JobDefinition;
    const rev = await this.store.create({ def, state: initialState(new Date().toISOString()) });
    if (rev === undefined) throw new Error(`job ${def.id} exists`);
    return def;
  }

  /** Publishes a fire of `def` as the scheduler would. */
  async fire(def: JobDefinition, opts: BuildFireOptions = {}): Promise<FireMessage> {
    const fire = buildFire(def, opts);
    await publishFire(this.js, this.ns, fire);
    return fire;
  }

  async record(def: JobDefinition): Promise<StoredJob | undefined> {
    return this.store.get(this.ns.jobKey(def));
  }

  /** Waits until the stored job satisfies `pred`. */
  waitRecord(def: JobDefinition, pred: (j: StoredJob) => boolean, message: string, timeoutMs = 10_000) {
    return waitFor(
      async () => {
        const j = await this.record(def);
        return j && pred(j) ? j : undefined;
      },
      { message, timeoutMs },
    );
  }

  async runLog(def: Pick<JobDefinition, "tenantId" | "id">): Promise<WorkerRunLogEntry[]> {
    return this.readStream(this.ns.streams.log, this.ns.log(def.tenantId, def.id)) as Promise<
      WorkerRunLogEntry[]
    >;
  }

  async deadLetters(tenant: string, jobId: string): Promise<DeadLetter[]> {
    return this.readStream(this.ns.streams.dlq, this.ns.dlq(tenant, jobId)) as Promise<DeadLetter[]>;
  }

  /** Every message on `subject` in `stream`, oldest first. */
  async readStream(stream: string, subject: string): Promise<unknown[]> {
    const info = await this.topo.jsm.streams.info(stream, { subjects_filter: subject });
    const count = info.state.subjects?.[subject] ?? 0;
    if (count === 0) return [];
    // NATS 2.9: one filter subject per consumer (no filter_subjects, so no ordered consumer with a filter)
    const ci = await this.topo.jsm.consumers.add(stream, {
      filter_subject: subject,
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
      inactive_threshold: 30_000_000_000,
    });
    const consumer = await this.js.consumers.get(stream, ci.name);
    const out: unknown[] = [];
    try {
      while (out.length < count) {
        const m = await consumer.next({ expires: 2000 });
        if (!m) break;
        out.push(decode(m.data));
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
    return out;
  }

  /** Stops every worker made so far (afterEach: a worker without a test's handler would hand its fires back). */
  async stopWorkers(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((w) => w.stop().catch(() => undefined)));
  }

  async close(): Promise<void> {
    await this.stopWorkers();
    await this.nc?.close();
  }
}

/** The suite's server and environment (set by useTestEnv before the first test). */
export let server: NatsServerFixture;
export let env: TestEnv;

/** One nats-server and TestEnv for the test file; every test's workers are stopped after it. */
export function useTestEnv(): void {
  beforeAll(async () => {
    server = await startNats();
    env = await new TestEnv(server).init();
  });
  afterEach(() => env.stopWorkers());
  afterAll(async () => {
    await env?.close();
    await server?.stop();
  });
}
