/**
 * Test harness for the scheduler suites: a service factory with a ManualClock, a pull consumer that collects
 * every fire from the run stream (standing in for the workers), API helpers, and store snapshots.
 */
import { AckPolicy, jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { pino } from "pino";
import { request } from "@taskjet/nats";
import {
  decode,
  encode,
  encodingOf,
  Headers,
  namespace,
  type ApiOp,
  type Encoding,
  type FireMessage,
  type JobRecord,
  type JobState,
  type Namespace,
  type RunLogEntry,
  type StoredJob,
} from "@taskjet/protocol";
import { JobStore } from "@taskjet/nats";
import { beforeAll } from "vitest";
import {
  uniqueName,
  useNatsServer as useFileNatsServer,
  waitFor,
  type NatsServerFixture,
  type NatsTestContext,
} from "@taskjet/testing";
import { ManualClock, SchedulerService, type SchedulerOptions } from "../src/index.js";

export const T0 = Date.parse("2026-03-02T10:00:00.000Z");

export const quietLogger = () => pino({ level: process.env["TEST_LOG_LEVEL"] ?? "silent" });

/** Options that make a service quick to elect and easy to drive in tests. */
export function testOptions(
  nc: NatsConnection,
  prefix: string,
  extra: SchedulerOptions = {},
): SchedulerOptions {
  return {
    nats: nc,
    prefix,
    logger: quietLogger(),
    leaseTtlMs: 1_000,
    cursorIntervalMs: 100,
    wakeEarlyMs: 0,
    leadMs: 0,
    reaperIntervalMs: 600_000,
    clockSkewCheckIntervalMs: 600_000,
    topology: { memory: true },
    ...extra,
  };
}

/** Starts a service and waits until it fires as leader. */
export async function startLeader(opts: SchedulerOptions): Promise<SchedulerService> {
  const s = new SchedulerService(opts);
  await s.start();
  await waitFor(() => s.isLeader(), { timeoutMs: 10_000, message: "service did not become leader" });
  return s;
}

export interface Fire {
  msg: FireMessage;
  subject: string;
  msgId: string;
  epoch: string;
  nominalHeader: string;
  contentType: string;
  receivedAt: number;
}

/**
 * Collects every fire the run stream stored (a pull consumer on `<p>.run.>`, acking each), and beside it every
 * fire *published* (a core subscription on the same subjects): the stream stores a re-publish of the same
 * Nats-Msg-Id once, so only the second shows whether the scheduler sent a fire twice.
 */
export class FireCollector {
  readonly fires: Fire[] = [];
  /** Nats-Msg-Id of every publish seen on the run subjects, in arrival order (duplicates included) */
  readonly published: string[] = [];
  private stopFn: (() => void) | undefined;
  private pending: (() => Promise<number>) | undefined;

  static async start(nc: NatsConnection, ns: Namespace): Promise<FireCollector> {
    const c = new FireCollector();
    const tap = nc.subscribe(ns.runAll, {
      callback: (_err, m) => {
        c.published.push(m.headers?.get(Headers.MsgId) ?? "");
      },
    });
    await nc.flush(); // the server knows the interest before any fire is published
    const jsm = await jetstreamManager(nc);
    const name = uniqueName("col");
    await waitFor(() => jsm.streams.info(ns.streams.run).catch(() => null), { message: "run stream" });
    await jsm.consumers.add(ns.streams.run, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      filter_subject: ns.runAll,
    });
    const consumer = await jetstream(nc).consumers.get(ns.streams.run, name);
    c.pending = async () => {
      const info = await jsm.consumers.info(ns.streams.run, name);
      return info.num_pending + info.num_ack_pending;
    };
    const messages = await consumer.consume({ max_messages: 1000 });
    c.stopFn = () => {
      void messages.close();
      tap.unsubscribe();
    };
    void (async () => {
      for await (const m of messages) c.push(m);
    })().catch(() => undefined);
    return c;
  }

  private push(m: JsMsg): void {
    this.fires.push({
      // by Content-Type: fires of the jsonFires option are JSON
      msg: decode(m.data, encodingOf(m.headers?.get(Headers.ContentType))) as FireMessage,
      subject: m.subject,
      msgId: m.headers?.get(Headers.MsgId) ?? "",
      epoch: m.headers?.get(Headers.Epoch) ?? "",
      nominalHeader: m.headers?.get(Headers.Nominal) ?? "",
      contentType: m.headers?.get(Headers.ContentType) ?? "",
      receivedAt: Date.now(),
    });
    m.ack();
  }

  of(jobId: string): Fire[] {
    return this.fires.filter((f) => f.msg.jobId === jobId);
  }

  nominals(jobId: string): string[] {
    return this.of(jobId).map((f) => f.msg.nominalTime);
  }

  /** Nats-Msg-Ids of every publish of `jobId`'s fires, re-publishes included. */
  publishedOf(jobId: string): string[] {
    // a Nats-Msg-Id is `<tenant>.<jobId>:<nominalMs>[:a<attempt>]` (fireMsgId); tenants have no dots
    return this.published.filter((id) => id.slice(id.indexOf(".") + 1).startsWith(`${jobId}:`));
  }

  /** Nats-Msg-Ids of `jobId`'s fires published more than once (whether or not the stream stored them twice). */
  publishedTwice(jobId: string): string[] {
    const mine = this.publishedOf(jobId);
    return [...new Set(mine.filter((id, i) => mine.indexOf(id) !== i))];
  }

  /** Steps `clock` one second at a time, `seconds` times, waiting after each step for `jobId`'s next fire. */
  async stepSeconds(clock: ManualClock, jobId: string, seconds: number): Promise<void> {
    const before = this.of(jobId).length;
    for (let i = 1; i <= seconds; i++) {
      clock.advance(1_000);
      await this.waitFires(jobId, before + i);
    }
  }

  /** Waits until `jobId` has at least `count` fires; returns them. */
  async waitFires(jobId: string, count: number, timeoutMs = 10_000): Promise<Fire[]> {
    await waitFor(() => this.of(jobId).length >= count, {
      timeoutMs,
      message: `expected ${count} fires of ${jobId}, got ${this.of(jobId).length}: ${this.nominals(jobId).join(", ")}`,
    });
    return this.of(jobId);
  }

  /**
   * Waits until the collector holds every fire the run stream has stored so far: its consumer has nothing
   * left to deliver and every delivery acked (each fire is pushed before it is acked).
   */
  async caughtUp(timeoutMs = 10_000): Promise<void> {
    await waitFor(async () => (await this.pending!()) === 0, {
      timeoutMs,
      message: "the collector did not catch up with the run stream",
    });
  }

  stop(): void {
    this.stopFn?.();
  }
}

/**
 * Waits until `service` (the leader) has settled everything due by its clock's current time (published,
 * acked, recorded; nothing in flight: `isIdle`) and `fires` holds every fire stored. A test asserts that
 * something did *not* fire only after this: a late duplicate would have been published before it holds.
 * Publishes reach the collector's tap before their acks reach the scheduler (one connection, in order).
 */
export async function settled(service: SchedulerService, fires?: FireCollector): Promise<void> {
  await waitFor(() => service.isIdle(), { timeoutMs: 10_000, message: "the leader did not settle" });
  await fires?.caughtUp();
}

/** A control-API call; rejects with the typed error the scheduler replied with. */
export function api<T = unknown>(
  nc: NatsConnection,
  prefix: string,
  op: ApiOp,
  body: unknown,
  opts: { tenant?: string; encoding?: Encoding } = {},
): Promise<T> {
  return request<T>(nc, namespace(prefix).api(opts.tenant ?? "default", op), body, {
    timeoutMs: 10_000,
    ...(opts.encoding ? { encoding: opts.encoding } : {}),
  });
}

export async function storeOf(nc: NatsConnection, prefix: string): Promise<JobStore> {
  const ns = namespace(prefix);
  const kv = await new Kvm(nc).open(ns.buckets.jobs);
  return new JobStore(kv, ns);
}

/** Every key with its raw value, to prove bad input changed nothing. */
export async function snapshot(nc: NatsConnection, prefix: string): Promise<Record<string, string>> {
  const store = await storeOf(nc, prefix);
  const out: Record<string, string> = {};
  for (const j of await store.list()) out[`${j.def.tenantId}.${j.def.group}.${j.def.id}`] = JSON.stringify(j);
  return out;
}

/** Writes state fields as a worker would (compare-and-set). */
export async function writeState(
  nc: NatsConnection,
  prefix: string,
  key: string,
  patch: Partial<JobState>,
): Promise<StoredJob> {
  const store = await storeOf(nc, prefix);
  return store.mutate(key, (cur): JobRecord => ({ def: cur.def, state: { ...cur.state, ...patch } }));
}

export async function readJob(
  nc: NatsConnection,
  prefix: string,
  key: string,
): Promise<StoredJob | undefined> {
  return (await storeOf(nc, prefix)).get(key);
}

/** Run-log entries of a job, straight from the stream (not through the API). */
export async function runLog(
  nc: NatsConnection,
  prefix: string,
  tenant: string,
  jobId: string,
): Promise<RunLogEntry[]> {
  const ns = namespace(prefix);
  const jsm = await jetstreamManager(nc);
  const out: RunLogEntry[] = [];
  const info = await jsm.streams
    .info(ns.streams.log, { subjects_filter: ns.log(tenant, jobId) })
    .catch(() => null);
  const count = info?.state.subjects?.[ns.log(tenant, jobId)] ?? 0;
  if (count === 0) return out;
  const consumer = await jetstream(nc).consumers.get(ns.streams.log, {
    filter_subjects: ns.log(tenant, jobId),
  });
  const batch = await consumer.fetch({ max_messages: count, expires: 2_000 });
  for await (const m of batch) {
    out.push(decode(m.data) as RunLogEntry);
    if (out.length >= count) break;
  }
  return out;
}

/** Advances the manual clock second by second, letting the service catch up between steps. */
export async function tickSeconds(
  clock: ManualClock,
  seconds: number,
  settle: () => boolean | Promise<boolean> = () => true,
) {
  for (let i = 0; i < seconds; i++) {
    clock.advance(1_000);
    await waitFor(settle, { timeoutMs: 5_000, message: `after ${i + 1} s` });
  }
}

export const iso = (ms: number) => new Date(ms).toISOString();

export { encode, namespace, uniqueName, waitFor, ManualClock };

/** The file's nats-server and connection (live bindings, set by useNatsServer's beforeAll). */
export let nats: NatsServerFixture;
export let nc: NatsConnection;
let file: NatsTestContext | undefined;
/** Run after each test, newest first (stop services, close clients). */
export const cleanups = {
  push: (fn: () => Promise<void> | void) => {
    if (!file) throw new Error("call useNatsServer() at the top of the test file first");
    file.defer(fn);
  },
};

/** One real nats-server and connection per test file (@taskjet/testing's), as live bindings. */
export function useNatsServer(): void {
  file = useFileNatsServer();
  beforeAll(() => {
    nats = file!.server;
    nc = file!.nc;
  });
}

/**
 * A leader on a fresh prefix driven by a ManualClock starting at `start`, and a collector of its fires;
 * both are stopped after the test. `extra` adds service options.
 */
export async function leaderWithFires(
  start: number | string = T0,
  extra: SchedulerOptions = {},
  prefixBase = "s",
): Promise<{ prefix: string; clock: ManualClock; service: SchedulerService; fires: FireCollector }> {
  const prefix = uniqueName(prefixBase);
  const clock = new ManualClock(start);
  const service = await startLeader(testOptions(nc, prefix, { clock, ...extra }));
  cleanups.push(() => service.stop());
  const fires = await FireCollector.start(nc, namespace(prefix));
  cleanups.push(() => fires.stop());
  return { prefix, clock, service, fires };
}
