/**
 * The machine-readable contract: a JSON Schema (draft-07) per payload, generated from the zod schemas the
 * code validates with, and an AsyncAPI 3 document of every channel, its addresses built by the namespace
 * builders of subjects.ts (so a routing change flows through). Pure: `npm run protocol:generate`
 * (scripts/protocol-generate.mjs) writes them to docs/schemas/*.json and docs/asyncapi.yaml, and a test
 * regenerates them and compares with the committed files.
 */
import { z } from "zod";
import {
  IdRequestSchema,
  ListRequestSchema,
  LogsRequestSchema,
  SelectorSchema,
  UpdateRequestSchema,
} from "./api.js";
import { JobEventDataSchema } from "./events.js";
import { FireMessageSchema } from "./fire.js";
import { JobInputSchema, JobPatchSchema, JobStateSchema } from "./job.js";
import { buildAsyncApi } from "./asyncapiDocument.js";
import { DEFAULT_PREFIX } from "./subjects.js";
import * as w from "./wireSchemas.js";

export type JsonSchema = Record<string, unknown>;

interface SchemaEntry {
  /** component name in the AsyncAPI document; the file is its kebab-case form */
  name: string;
  schema: z.ZodType;
  /** requests are described as sent (defaults optional), everything else as received */
  io: "input" | "output";
  description: string;
}

/** The code checks each job of queueMany with JobInputSchema (root `jobs.<n>`); this says the same. */
const QueueManyDocSchema = z.strictObject({ jobs: z.array(JobInputSchema).min(1).max(10_000) });
/** A registry `type.<type>` entry (shared/nats registry.ts JobTypeInfo). */
const RegistryTypeSchema = z.object({
  type: z.string(),
  description: z.string().optional(),
  argsSchema: z.unknown().optional().describe("JSON Schema of the handler's args"),
  nodes: z.array(z.string()),
  seenAt: z.string(),
});
/** A `<p>-locks` value (shared/nats lock.ts LockValue). */
const LockValueSchema = z.object({
  owner: z.string().describe("the worker id holding it"),
  fireId: z.string(),
  expiresAt: z.number().int().describe("epoch milliseconds"),
});

/** [name, schema, description] rows, described as sent (requests) or as received (everything else). */
type Row = readonly [name: string, schema: z.ZodType, description: string];
const entries = (io: SchemaEntry["io"], rows: readonly Row[]): SchemaEntry[] =>
  rows.map(([name, schema, description]) => ({ name, schema, io, description }));

export const schemaEntries: readonly SchemaEntry[] = [
  ...entries("input", [
    ["JobInput", JobInputSchema, "queue request: a job"],
    ["JobPatch", JobPatchSchema, "the patch of an update"],
    ["ApiIdRequest", IdRequestSchema, "exists, get"],
    ["ApiQueueManyRequest", QueueManyDocSchema, "queueMany"],
    ["ApiListRequest", ListRequestSchema, "list"],
    ["ApiUpdateRequest", UpdateRequestSchema, "update"],
    [
      "ApiSelector",
      SelectorSchema,
      "trigger, pause, resume, remove, start, stop: exactly one of id, ids, filter (naming a field) or all; " +
        "force only with remove",
    ],
    ["ApiLogsRequest", LogsRequestSchema, "logs"],
    ["SysEmptyRequest", w.EmptyRequestSchema, "sys.scheduler ops"],
  ]),
  ...entries("output", [
    ["ReplyEnvelope", w.ReplyEnvelopeSchema, "every reply"],
    ["ErrorBody", w.ErrorBodySchema, "a reply's error"],
    ["ApiQueueResult", w.QueueResultSchema, "queue reply data"],
    ["ApiQueueManyResult", w.QueueManyResultSchema, "queueMany reply data"],
    ["ApiExistsResult", w.ExistsResultSchema, "exists reply data"],
    ["ApiJobResult", w.JobResultSchema, "get, update reply data"],
    ["ApiListResult", w.ListResultSchema, "list reply data"],
    ["ApiBulkResult", w.BulkResultSchema, "trigger, pause, resume, remove, start, stop reply data"],
    ["ApiLogsResult", w.LogsResultSchema, "logs reply data"],
    ["SchedulerStatus", w.SchedulerStatusSchema, "status data"],
    ["SysRoleResult", w.RoleChangeResultSchema, "standby, activate data"],
    ["SysShutdownResult", w.ShutdownResultSchema, "shutdown data"],
    ["JobDefinition", w.JobDefinitionSchema, "a stored definition"],
    ["JobState", JobStateSchema, "a job's state (system-owned)"],
    ["JobRecord", w.JobRecordSchema, "a job store value"],
    ["JobView", w.JobViewSchema, "a job as the API shows it"],
    ["FireMessage", FireMessageSchema, "a fire (run stream)"],
    ["JobEventData", JobEventDataSchema, "an event's data"],
    ["RunLogEntry", w.RunLogEntrySchema, "a run-log entry"],
    ["DeadLetter", w.DeadLetterSchema, "a dead letter"],
    ["Interrupt", w.InterruptSchema, "an interrupt (ctl)"],
    ["HeldQuery", w.HeldQuerySchema, "a worker's question: who holds this redelivered fire (ctl._held)"],
    ["HeldAnswer", w.HeldAnswerSchema, "the answer of the worker holding the fire (ctl._held)"],
    ["LockValue", LockValueSchema, "a run lock"],
    ["WorkerInfo", w.WorkerInfoSchema, "a worker heartbeat"],
    ["RegistryType", RegistryTypeSchema, "a job type entry"],
  ]),
];

/** `JobInput` -> `job-input`, `ApiIdRequest` -> `api-id-request`. */
export const fileNameOf = (name: string): string =>
  name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase() + ".json";

/** The JSON Schema of one entry, standalone (with `$schema` and `title`). */
export function jsonSchemaOf(e: SchemaEntry): JsonSchema {
  const generated = z.toJSONSchema(e.schema, {
    target: "draft-7",
    io: e.io,
    // transforms (epoch ms accepted for times) and z.unknown() have no exact JSON Schema: any value
    unrepresentable: "any",
  }) as JsonSchema;
  const { $schema, ...rest } = generated;
  return { $schema, title: e.name, description: e.description, ...rest };
}

export interface ProtocolContract {
  /** file name (e.g. `fire-message.json`) -> JSON Schema */
  schemas: Record<string, JsonSchema>;
  /** the AsyncAPI 3 document */
  asyncapi: Record<string, unknown>;
}

export function protocolContract(prefix: string = DEFAULT_PREFIX): ProtocolContract {
  const schemas: Record<string, JsonSchema> = {};
  const components: Record<string, JsonSchema> = {};
  for (const e of schemaEntries) {
    const s = jsonSchemaOf(e);
    schemas[fileNameOf(e.name)] = s;
    // AsyncAPI's schema objects are a superset of draft-07: the same schema without `$schema`
    const { $schema: _drop, ...component } = s;
    components[e.name] = component;
  }
  return { schemas, asyncapi: buildAsyncApi(prefix, components) };
}
