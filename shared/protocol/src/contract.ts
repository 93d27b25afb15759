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

export const schemaEntries: readonly SchemaEntry[] = [
  { name: "JobInput", schema: JobInputSchema, io: "input", description: "queue request: a job" },
  { name: "JobPatch", schema: JobPatchSchema, io: "input", description: "the patch of an update" },
  { name: "ApiIdRequest", schema: IdRequestSchema, io: "input", description: "exists, get" },
  { name: "ApiQueueManyRequest", schema: QueueManyDocSchema, io: "input", description: "queueMany" },
  { name: "ApiListRequest", schema: ListRequestSchema, io: "input", description: "list" },
  { name: "ApiUpdateRequest", schema: UpdateRequestSchema, io: "input", description: "update" },
  {
    name: "ApiSelector",
    schema: SelectorSchema,
    io: "input",
    description:
      "trigger, pause, resume, remove, start, stop: exactly one of id, ids, filter (naming a field) or all; " +
      "force only with remove",
  },
  { name: "ApiLogsRequest", schema: LogsRequestSchema, io: "input", description: "logs" },
  { name: "SysEmptyRequest", schema: w.EmptyRequestSchema, io: "input", description: "sys.scheduler ops" },
  { name: "ReplyEnvelope", schema: w.ReplyEnvelopeSchema, io: "output", description: "every reply" },
  { name: "ErrorBody", schema: w.ErrorBodySchema, io: "output", description: "a reply's error" },
  { name: "ApiQueueResult", schema: w.QueueResultSchema, io: "output", description: "queue reply data" },
  {
    name: "ApiQueueManyResult",
    schema: w.QueueManyResultSchema,
    io: "output",
    description: "queueMany reply data",
  },
  { name: "ApiExistsResult", schema: w.ExistsResultSchema, io: "output", description: "exists reply data" },
  { name: "ApiJobResult", schema: w.JobResultSchema, io: "output", description: "get, update reply data" },
  { name: "ApiListResult", schema: w.ListResultSchema, io: "output", description: "list reply data" },
  {
    name: "ApiBulkResult",
    schema: w.BulkResultSchema,
    io: "output",
    description: "trigger, pause, resume, remove, start, stop reply data",
  },
  { name: "ApiLogsResult", schema: w.LogsResultSchema, io: "output", description: "logs reply data" },
  { name: "SchedulerStatus", schema: w.SchedulerStatusSchema, io: "output", description: "status data" },
  {
    name: "SysRoleResult",
    schema: w.RoleChangeResultSchema,
    io: "output",
    description: "standby, activate data",
  },
  { name: "SysShutdownResult", schema: w.ShutdownResultSchema, io: "output", description: "shutdown data" },
  { name: "JobDefinition", schema: w.JobDefinitionSchema, io: "output", description: "a stored definition" },
  { name: "JobState", schema: JobStateSchema, io: "output", description: "a job's state (system-owned)" },
  { name: "JobRecord", schema: w.JobRecordSchema, io: "output", description: "a job store value" },
  { name: "JobView", schema: w.JobViewSchema, io: "output", description: "a job as the API shows it" },
  { name: "FireMessage", schema: FireMessageSchema, io: "output", description: "a fire (run stream)" },
  { name: "JobEventData", schema: JobEventDataSchema, io: "output", description: "an event's data" },
  { name: "RunLogEntry", schema: w.RunLogEntrySchema, io: "output", description: "a run-log entry" },
  { name: "DeadLetter", schema: w.DeadLetterSchema, io: "output", description: "a dead letter" },
  { name: "Interrupt", schema: w.InterruptSchema, io: "output", description: "an interrupt (ctl)" },
  { name: "LockValue", schema: LockValueSchema, io: "output", description: "a run lock" },
  { name: "WorkerInfo", schema: w.WorkerInfoSchema, io: "output", description: "a worker heartbeat" },
  { name: "RegistryType", schema: RegistryTypeSchema, io: "output", description: "a job type entry" },
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
