/**
 * The client front: one NATS connection, role objects for each job.
 *
 *   scheduler   control API (queue, list, pause, ..., status)
 *   events      before/after/skipped/deadletter events
 *   publisher   queue to this client's node;  dispatcher  queue to a named node
 *   cluster     registered job types, run-stream consumer lag, store reachability
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { connectNats, natsConfigFromEnv, type NatsConfigInput } from "@taskjet/nats";
import { namespace, parseOrThrow, type Namespace } from "@taskjet/protocol";
import { ClusterInfo } from "./ClusterInfo.js";
import { JobEvents } from "./JobEvents.js";
import { JobDispatcher, JobPublisher } from "./JobPublisher.js";
import { JobScheduler } from "./JobScheduler.js";
import {
  ClientOptionsSchema,
  resolveClientOptions,
  stripUndefined,
  type ClientOptions,
  type ClientOptionsInput,
} from "./options.js";

/** `connect` settings: the NATS connection (servers, credentials, TLS, prefix) plus the client options. */
export type ConnectConfig = NatsConfigInput & Omit<ClientOptionsInput, "prefix">;

export class TaskjetClient {
  readonly ns: Namespace;
  readonly scheduler: JobScheduler;
  readonly events: JobEvents;
  readonly publisher: JobPublisher;
  readonly dispatcher: JobDispatcher;
  readonly cluster: ClusterInfo;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly nc: NatsConnection,
    readonly options: ClientOptions,
    private readonly ownsConnection: boolean,
  ) {
    this.ns = namespace(options.prefix);
    this.scheduler = new JobScheduler(nc, this.ns, options);
    this.events = new JobEvents(nc, this.ns, options.tenant);
    this.publisher = new JobPublisher(this.scheduler, options.nodeName);
    this.dispatcher = new JobDispatcher(this.scheduler);
    this.cluster = new ClusterInfo(nc, this.ns);
  }

  /**
   * Connects to NATS and returns a client that owns the connection (`close()` drains it). Settings not
   * given are read from the environment (NATS_URL, NATS_CREDS, NATS_USER/NATS_PASSWORD, NATS_TOKEN,
   * NATS_TLS_CA/CERT/KEY, TASKJET_PREFIX); throws INVALID_ARGUMENT naming a bad setting before connecting.
   */
  static async connect(
    config: ConnectConfig = {},
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<TaskjetClient> {
    // every client option is taken out (the schema's keys, so a new option cannot be forgotten): left in
    // natsInput, the strict NATS settings refuse it; the prefix is both's, read with the NATS settings
    const clientInput: Record<string, unknown> = {};
    const natsInput: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(config)) {
      (k !== "prefix" && k in ClientOptionsSchema.shape ? clientInput : natsInput)[k] = v;
    }
    const nats = natsConfigFromEnv(env, natsInput as NatsConfigInput);
    const options = resolveClientOptions({ ...(clientInput as ClientOptionsInput), prefix: nats.prefix });
    const nc = await connectNats({ ...nats, name: nats.name ?? "taskjet-client" });
    return new TaskjetClient(nc, options, true);
  }

  /** Wraps a connection the caller owns (`close()` leaves it open). */
  static fromConnection(nc: NatsConnection, options: ClientOptionsInput = {}): TaskjetClient {
    return new TaskjetClient(nc, resolveClientOptions(options), false);
  }

  get tenant(): string {
    return this.options.tenant;
  }

  /** A client for another tenant on the same connection. */
  forTenant(tenant: string): TaskjetClient {
    parseOrThrow(ClientOptionsSchema.pick({ tenant: true }), { tenant });
    return new TaskjetClient(this.nc, { ...this.options, tenant }, false);
  }

  /** Drains the connection if this client opened it. Idempotent. */
  close(): Promise<void> {
    if (!this.nc.isClosed()) this.scheduler.close();
    this.closing ??= this.ownsConnection && !this.nc.isClosed() ? this.nc.drain() : Promise.resolve();
    return this.closing;
  }
}

/** `createClient(nc, { prefix, tenant })`: a client over a connection the caller owns. */
export function createClient(nc: NatsConnection, options: ClientOptionsInput = {}): TaskjetClient {
  return TaskjetClient.fromConnection(nc, stripUndefined(options));
}
