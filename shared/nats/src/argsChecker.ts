/**
 * Accept-time args check (issue 19), by the scheduler for the jobs it accepts and by the SDK for the jobs it
 * publishes on the fast lane: a job's args are parsed against the JSON Schema that the workers of its
 * type publish in the registry (`type.<type token>`, worker-runtime heartbeat.ts), so bad args are refused
 * when queued (INVALID_ARGUMENT naming `args.<field>`) instead of dead-lettering the first run.
 *
 * - a type no worker has registered (no entry, or none beat within the registry's TTL): accepted, with a
 *   warning in the reply and `onUnknownType` (the metric; not for updates); the job waits for such a worker;
 * - a type registered without an args schema, or with one that has no zod form: accepted unchecked;
 * - the registry unreadable: accepted unchecked, with a warning (queueing does not depend on heartbeats).
 *
 * Registry reads are cached per type for `cacheMs` (a burst of one type reads once), and compiled schemas
 * by their JSON text; both caches are bounded. The registry keeps one entry per type, written by every
 * worker's heartbeat: while workers with two versions of a type's schema run side by side (a rolling
 * deploy), acceptance checks against whichever beat last. A schema with refinements or transforms that JSON
 * Schema cannot express is checked only as far as its JSON form goes; the worker's own parse still runs.
 */
import { z } from "zod";
import { parseOrThrow, type JobDefinition } from "@taskjet/protocol";
import type { Registry } from "./registry.js";

const MAX_CACHED = 1024;

type Known =
  | { kind: "unknown" }
  | { kind: "unchecked" }
  | { kind: "unreadable" }
  | { kind: "schema"; schema: z.ZodType };

export interface ArgsCheckerDeps {
  registry: Pick<Registry, "type">;
  clock: { now(): number };
  /** how long one registry read of a type is reused */
  cacheMs: number;
  onUnknownType?: (type: string) => void;
  /**
   * how long an unreadable registry is not asked again (default 0: every check asks; a client without
   * permission to read it sets this, so it is not refused on every job)
   */
  unreadableCacheMs?: number;
  log: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
}

export class ArgsChecker {
  private readonly types = new Map<string, { atMs: number; known: Promise<Known>; unreadable?: boolean }>();
  private readonly compiled = new Map<string, z.ZodType | undefined>();

  constructor(private readonly d: ArgsCheckerDeps) {}

  /**
   * Checks the args of each job against its type's schema; throws the first ValidationError (field
   * `<root>.args.<path>`), else resolves to the warnings of the accepted jobs.
   */
  async check(
    jobs: readonly { def: Pick<JobDefinition, "type" | "args">; root?: string | undefined }[],
    opts: { countUnknown?: boolean } = {},
  ): Promise<string[]> {
    const known = await Promise.all(jobs.map((j) => this.known(j.def.type)));
    const warnings = new Set<string>();
    jobs.forEach(({ def, root }, i) => {
      const k = known[i]!;
      if (k.kind === "schema") parseOrThrow(k.schema, def.args, root ? `${root}.args` : "args");
      else if (k.kind === "unknown") {
        if (opts.countUnknown !== false) this.d.onUnknownType?.(def.type);
        warnings.add(
          `no worker has registered type "${def.type}" yet: the job waits for one, and its args were not checked`,
        );
      } else if (k.kind === "unreadable") {
        warnings.add(
          `the worker registry could not be read: the args of type "${def.type}" were not checked`,
        );
      }
    });
    return [...warnings];
  }

  private known(type: string): Promise<Known> {
    const now = this.d.clock.now();
    const hit = this.types.get(type);
    if (hit && now - hit.atMs < (hit.unreadable ? (this.d.unreadableCacheMs ?? 0) : this.d.cacheMs))
      return hit.known;
    if (this.types.size >= MAX_CACHED) this.types.clear();
    const known = this.read(type);
    this.types.set(type, { atMs: now, known });
    return known;
  }

  private async read(type: string): Promise<Known> {
    let info;
    try {
      info = await this.d.registry.type(type);
    } catch (err) {
      this.d.log.warn({ err, type }, "registry unreadable: args accepted unchecked");
      const hit = this.types.get(type);
      if (hit) hit.unreadable = true;
      return { kind: "unreadable" };
    }
    if (!info) return { kind: "unknown" };
    if (info.argsSchema === undefined) return { kind: "unchecked" };
    const schema = this.compile(info.argsSchema);
    return schema ? { kind: "schema", schema } : { kind: "unchecked" };
  }

  private compile(jsonSchema: unknown): z.ZodType | undefined {
    const text = JSON.stringify(jsonSchema);
    if (this.compiled.has(text)) return this.compiled.get(text);
    if (this.compiled.size >= MAX_CACHED) this.compiled.clear();
    let schema: z.ZodType | undefined;
    try {
      schema = z.fromJSONSchema(jsonSchema as Parameters<typeof z.fromJSONSchema>[0]);
    } catch (err) {
      this.d.log.debug({ err }, "a published args schema has no zod form: args accepted unchecked");
    }
    this.compiled.set(text, schema);
    return schema;
  }
}
