/**
 * Read-only views of the cluster that do not go through the scheduler: the job types workers registered
 * (the `<p>-registry` bucket), the run stream's consumers and their lag, and reachability of the job store.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { isStreamNotFound, jetStreamManagerOnce, Registry, type JobTypeInfo } from "@taskjet/nats";
import { UnavailableError, type ConsumerLag, type Namespace } from "@taskjet/protocol";

export type { ConsumerLag };
export type { JobTypeInfo };

export class ClusterInfo {
  private readonly jsm: () => Promise<JetStreamManager>;

  constructor(
    private readonly nc: NatsConnection,
    readonly ns: Namespace,
  ) {
    this.jsm = jetStreamManagerOnce(nc);
  }

  /** Job types that running workers registered, with their args JSON Schemas. */
  async types(): Promise<JobTypeInfo[]> {
    try {
      const kv = await new Kvm(this.nc).open(this.ns.buckets.registry);
      return await new Registry(kv).types();
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
  }

  /** The run stream's consumers (one per node plus the shared one) and how far behind each is. */
  async consumers(): Promise<ConsumerLag[]> {
    const jsm = await this.jsm();
    const out: ConsumerLag[] = [];
    try {
      for await (const c of jsm.consumers.list(this.ns.streams.run)) {
        const cfg = c.config;
        out.push({
          stream: c.stream_name,
          name: c.name,
          filterSubjects: cfg.filter_subjects ?? (cfg.filter_subject ? [cfg.filter_subject] : []),
          pending: c.num_pending,
          ackPending: c.num_ack_pending,
          redelivered: c.num_redelivered,
          waiting: c.num_waiting,
        });
      }
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Throws UNAVAILABLE unless the job store bucket answers. */
  async checkStore(): Promise<void> {
    const jsm = await this.jsm();
    try {
      await jsm.streams.info(`KV_${this.ns.buckets.jobs}`);
    } catch (err) {
      throw new UnavailableError(
        isMissing(err)
          ? `job store ${this.ns.buckets.jobs} does not exist yet: start a scheduler`
          : `job store ${this.ns.buckets.jobs} is not reachable: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
}

/** The stream or bucket does not exist (nats.js' StreamNotFoundError, also for "no stream matches"). */
function isMissing(err: unknown): boolean {
  return isStreamNotFound(err);
}
