/**
 * Registry heartbeats: the worker (`worker.<id>`: node, host, pid, types, concurrency, running) and each job
 * type it handles (`type.<type>`: description, args as JSON Schema) every heartbeatMs. Entries expire with
 * the registry bucket's TTL when the worker stops beating; stop() removes the worker entry at once.
 */
import { hostname } from "node:os";
import type { Logger } from "pino";
import { z } from "zod";
import type { Registry } from "@taskjet/nats";
import type { Registration } from "../handler.js";
import type { ResolvedWorkerOptions } from "../options.js";

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private schemas = new Map<string, unknown>();

  constructor(
    private readonly registry: Registry,
    private readonly o: ResolvedWorkerOptions,
    private readonly registrations: () => Registration[],
    private readonly running: () => number,
    private readonly logger: Logger,
    /** a beat got through (reach.ts) */
    private readonly written: () => void = () => undefined,
  ) {}

  /**
   * Resolves once the first beat is written (or failed): the types are in the registry when the worker's
   * start() resolves, so producers' args are checked against their schemas from then on.
   */
  async start(): Promise<void> {
    this.beat();
    this.timer = setInterval(() => this.beat(), this.o.heartbeatMs);
    this.timer.unref();
    await this.beating;
  }

  /** A type was registered after start: announce it now rather than at the next beat. */
  typesChanged(): void {
    if (this.timer) this.beat();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    await this.registry.remove("worker", this.o.workerId).catch(() => undefined);
  }

  private beat(): void {
    if (this.beating) return;
    this.beating = this.put()
      .catch((err: unknown) => this.logger.debug({ err }, "registry heartbeat failed"))
      .finally(() => (this.beating = undefined));
  }

  /** Writes this worker's entry alone: a beat out of turn, the probe of reach.ts. */
  async writeWorker(seenAt = new Date().toISOString()): Promise<void> {
    await this.registry.putWorker({
      workerId: this.o.workerId,
      node: this.o.node,
      host: hostname(),
      pid: process.pid,
      types: this.registrations().map((r) => r.type),
      concurrency: this.o.concurrency,
      running: this.running(),
      seenAt,
    });
    this.written();
  }

  private async put(): Promise<void> {
    const seenAt = new Date().toISOString();
    const regs = this.registrations();
    await this.writeWorker(seenAt);
    await Promise.all(
      regs.map((r) => {
        const argsSchema = this.jsonSchema(r);
        return this.registry.putType({
          type: r.type,
          nodes: [this.o.node],
          seenAt,
          ...(r.description !== undefined ? { description: r.description } : {}),
          ...(argsSchema !== undefined ? { argsSchema } : {}),
        });
      }),
    );
  }

  private jsonSchema(r: Registration): unknown {
    if (!r.argsSchema) return undefined;
    if (!this.schemas.has(r.type)) {
      let schema: unknown;
      try {
        schema = z.toJSONSchema(r.argsSchema, { unrepresentable: "any", io: "input" });
      } catch (err) {
        this.logger.debug({ err, type: r.type }, "args schema has no JSON Schema form");
      }
      this.schemas.set(r.type, schema);
    }
    return this.schemas.get(r.type);
  }
}
