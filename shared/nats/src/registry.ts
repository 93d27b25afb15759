/**
 * Heartbeats of scheduler replicas and workers, and the job types workers registered, in the `<p>-registry`
 * bucket (TTL: an entry vanishes when its process stops beating). Keys: `replica.<id>`, `worker.<id>`,
 * `type.<type token>` (names.ts).
 */
import type { KV } from "@nats-io/kv";
import { decode, encode, subjectToken, type ReplicaInfo, type WorkerInfo } from "@taskjet/protocol";
import { listEntries } from "./store.js";

export interface JobTypeInfo {
  type: string;
  description?: string;
  /** JSON Schema of the handler's args, when the handler was registered with a zod schema */
  argsSchema?: unknown;
  nodes: string[];
  seenAt: string;
}

export class Registry {
  constructor(private readonly kv: KV) {}

  async putReplica(info: ReplicaInfo): Promise<void> {
    await this.kv.put(`replica.${info.replicaId}`, encode(info));
  }

  async putWorker(info: WorkerInfo): Promise<void> {
    await this.kv.put(`worker.${info.workerId}`, encode(info));
  }

  async putType(info: JobTypeInfo): Promise<void> {
    await this.kv.put(`type.${subjectToken(info.type)}`, encode(info));
  }

  async remove(kind: "replica" | "worker", id: string): Promise<void> {
    await this.kv.purge(`${kind}.${id}`).catch(() => undefined);
  }

  /** The entry of one job type, or undefined when no worker registered it (or none beat within the TTL). */
  async type(type: string): Promise<JobTypeInfo | undefined> {
    const e = await this.kv.get(`type.${subjectToken(type)}`);
    return e && e.operation === "PUT" && e.length > 0 ? (decode(e.value) as JobTypeInfo) : undefined;
  }

  replicas(): Promise<ReplicaInfo[]> {
    return this.all<ReplicaInfo>("replica.*");
  }

  workers(): Promise<WorkerInfo[]> {
    return this.all<WorkerInfo>("worker.*");
  }

  types(): Promise<JobTypeInfo[]> {
    return this.all<JobTypeInfo>("type.*");
  }

  private async all<T>(filter: string): Promise<T[]> {
    return (await listEntries(this.kv, filter)).map((e) => decode(e.value) as T);
  }
}
