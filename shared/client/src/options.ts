/**
 * Client options, validated once at connect time. User options (`ClientOptionsInput`) and resolved options
 * (`ClientOptions`) are different types: everything after `resolveClientOptions` is known to be valid.
 */
import { hostname } from "node:os";
import { z } from "zod";
import {
  DEFAULT_MAX_JOB_BYTES,
  DEFAULT_PREFIX,
  parseOrThrow,
  PREFIX_PATTERN,
  token,
  withoutUndefined,
  type Encoding,
} from "@taskjet/protocol";

export const DEFAULT_TENANT = "default";
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** the SDK's default `argsSchemaCacheMs` (the scheduler's own option of that name defaults to 1 s) */
export const DEFAULT_ARGS_SCHEMA_CACHE_MS = 5_000;

export const ClientOptionsSchema = z.strictObject({
  prefix: z
    .string()
    .regex(PREFIX_PATTERN, 'prefix must be 1-32 letters, digits, "_" or "-"')
    .default(DEFAULT_PREFIX),
  tenant: token("tenant").default(DEFAULT_TENANT),
  /** this process's node: where `JobPublisher` sends jobs (the seed's "current node") */
  nodeName: token("nodeName").optional(),
  requestTimeoutMs: z.number().int().positive().max(600_000).default(DEFAULT_REQUEST_TIMEOUT_MS),
  encoding: z.enum(["msgpack", "json"]).default("msgpack"),
  /**
   * how often `queue`/`queueMany` are sent again when their outcome is unknown (TIMEOUT) or no scheduler
   * answered (UNAVAILABLE); safe because each job carries its id (generated here when the caller gave none)
   */
  queueRetries: z.number().int().min(0).max(20).default(3),
  /**
   * immediate once jobs (no delay, start time or interval) are published straight to the run stream, the
   * PubAck their acceptance, with no scheduler in between (docs/protocol.md, "The fast lane"). Off: every
   * job goes through the scheduler's `queue`; needed when the job's workers read fires only (the Go worker
   * example)
   */
  fastLane: z.boolean().default(true),
  /**
   * the largest fast-lane job this client publishes, encoded (INVALID_ARGUMENT naming the biggest field,
   * usually `args`, beyond it): the scheduler's default limit for the jobs it stores; keep it at or below
   * the workers' `maxJobBytes`, which dead-letter a larger one
   */
  maxJobBytes: z
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(DEFAULT_MAX_JOB_BYTES),
  /**
   * how long (ms) a type's args schema read from the registry is reused by the fast lane's accept-time args
   * check, done here since no scheduler sees those jobs: a burst of one type reads the registry once; a
   * schema a worker changes is enforced at most this long later (0: read on every queue call)
   */
  argsSchemaCacheMs: z.number().int().min(0).max(600_000).default(DEFAULT_ARGS_SCHEMA_CACHE_MS),
});
export type ClientOptionsInput = z.input<typeof ClientOptionsSchema>;
export interface ClientOptions {
  prefix: string;
  tenant: string;
  nodeName: string;
  requestTimeoutMs: number;
  encoding: Encoding;
  queueRetries: number;
  fastLane: boolean;
  maxJobBytes: number;
  argsSchemaCacheMs: number;
}

/** The host name as a subject token: the default node name. */
export function defaultNodeName(): string {
  const name = hostname()
    .replace(/[^A-Za-z0-9_-]/g, "-")
    .slice(0, 64);
  return name === "" ? "node" : name;
}

export function resolveClientOptions(input: ClientOptionsInput = {}): ClientOptions {
  const o = parseOrThrow(ClientOptionsSchema, stripUndefined(input));
  return { ...o, nodeName: o.nodeName ?? defaultNodeName() };
}

/** @taskjet/protocol's withoutUndefined, under the name this package exported it by. */
export const stripUndefined = withoutUndefined;
