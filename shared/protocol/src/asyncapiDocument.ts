/**
 * The AsyncAPI 3 document of every taskjet channel (contract.ts feeds it the payload schemas). Addresses come
 * from the namespace builders of subjects.ts called with `{parameter}` placeholders, so a change to a subject
 * shows up here (and in the committed docs/asyncapi.yaml, which a test compares). The application it
 * describes is taskjet itself (schedulers and workers): it receives requests and fast-lane jobs and sends
 * fires, events, run-log entries and interrupts; a client or a foreign worker does the opposite.
 */
import { eventType } from "./events.js";
import { RESENT_HEADER } from "./fastJob.js";
import { apiOps, eventPhases, Headers, namespace, sysOps, type ApiOp, type SysOp } from "./subjects.js";

type Obj = Record<string, unknown>;
const ref = (path: string): Obj => ({ $ref: path });
const param = (name: string): string => `{${name}}`;

const apiRequest: Record<ApiOp, string> = {
  queue: "JobInput",
  queueMany: "ApiQueueManyRequest",
  exists: "ApiIdRequest",
  get: "ApiIdRequest",
  list: "ApiListRequest",
  update: "ApiUpdateRequest",
  trigger: "ApiSelector",
  pause: "ApiSelector",
  resume: "ApiSelector",
  remove: "ApiSelector",
  start: "ApiSelector",
  stop: "ApiSelector",
  logs: "ApiLogsRequest",
};
const apiReply: Record<ApiOp, string> = {
  queue: "ApiQueueResult",
  queueMany: "ApiQueueManyResult",
  exists: "ApiExistsResult",
  get: "ApiJobResult",
  list: "ApiListResult",
  update: "ApiJobResult",
  trigger: "ApiBulkResult",
  pause: "ApiBulkResult",
  resume: "ApiBulkResult",
  remove: "ApiBulkResult",
  start: "ApiBulkResult",
  stop: "ApiBulkResult",
  logs: "ApiLogsResult",
};
const sysReply: Record<SysOp, string> = {
  status: "SchedulerStatus",
  standby: "SysRoleResult",
  activate: "SysRoleResult",
  shutdown: "SysShutdownResult",
};

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

const parameters: Record<string, string> = {
  tenant: "the tenant (a token)",
  node: "a worker node name, `_any` for fires any node may run (run), `_all` for every worker (ctl)",
  priority: "1 (low) .. 5 (high)",
  group: "the subject token of the job's group (docs/protocol.md, Names of job types and groups)",
  type: "the subject token of the job's type (docs/protocol.md, Names of job types and groups)",
  jobId: "the job's id",
  phase: `one of ${eventPhases.join(", ")}`,
  workerId: "a worker's id",
};
function paramsOf(address: string): Obj | undefined {
  const names = [...address.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  if (names.length === 0) return undefined;
  return Object.fromEntries(names.map((n) => [n, { description: parameters[n] ?? n }]));
}

const contentTypeHeader = {
  type: "object",
  properties: {
    [Headers.ContentType]: {
      type: "string",
      description: "application/msgpack or application/json (case-insensitive, parameters ignored)",
    },
  },
};

export function buildAsyncApi(prefix: string, schemas: Record<string, Obj>): Obj {
  const ns = namespace(prefix);
  const channels: Obj = {};
  const operations: Obj = {};
  const messages: Obj = {};

  const message = (name: string, payload: string, extra: Obj = {}): Obj => {
    messages[name] = {
      name,
      payload: ref(`#/components/schemas/${payload}`),
      headers: contentTypeHeader,
      ...extra,
    };
    return ref(`#/components/messages/${name}`);
  };
  const channel = (id: string, address: string | null, msgs: Obj, description: string): void => {
    // a placeholder that went through subjectToken (group, type) comes back escaped: `=7Btype=7D`
    if (address !== null) address = address.replace(/=7B(\w+)=7D/g, "{$1}");
    const params = address === null ? undefined : paramsOf(address);
    channels[id] = { address, description, messages: msgs, ...(params ? { parameters: params } : {}) };
  };
  /** A channel that one side only sends on, and its `send<Op>` operation. */
  const sendChannel = (id: string, op: string, address: string, msgs: Obj, description: string): void => {
    channel(id, address, msgs, description);
    operations[`send${op}`] = { action: "send", channel: ref(`#/channels/${id}`) };
  };
  const msgpack = (name: string, payload: string) =>
    message(name, payload, { contentType: "application/msgpack" });
  const requestReply = (id: string, address: string, req: string, reply: string, queue: string) => {
    channel(id, address, { request: message(`${cap(id)}Request`, req) }, `request/reply, ${id}`);
    channel(`${id}Reply`, null, { reply: message(`${cap(id)}Reply`, reply) }, "the request's reply inbox");
    operations[id] = {
      action: "receive",
      channel: ref(`#/channels/${id}`),
      messages: [ref(`#/channels/${id}/messages/request`)],
      reply: {
        channel: ref(`#/channels/${id}Reply`),
        messages: [ref(`#/channels/${id}Reply/messages/reply`)],
      },
      bindings: { nats: { queue, bindingVersion: "0.1.0" } },
    };
  };

  for (const op of apiOps) {
    requestReply(`api${cap(op)}`, ns.api(param("tenant"), op), apiRequest[op], apiReply[op], `${prefix}-api`);
  }
  for (const op of sysOps) {
    requestReply(`sys${cap(op)}`, ns.sys(op), "SysEmptyRequest", sysReply[op], `${prefix}-sys`);
  }
  // every reply is an envelope around its data: the reply messages' payload is the data's schema, wrapped
  for (const [name, m] of Object.entries(messages)) {
    if (!name.endsWith("Reply")) continue;
    const data = (m as { payload: Obj }).payload;
    (m as Obj)["payload"] = {
      oneOf: [
        {
          type: "object",
          properties: { ok: { const: true }, data },
          required: ["ok", "data"],
        },
        {
          type: "object",
          properties: { ok: { const: false }, error: ref("#/components/schemas/ErrorBody") },
          required: ["ok", "error"],
        },
      ],
    };
  }

  // the builders' arguments as placeholders: the address is whatever subjects.ts makes of them
  const runAddress = ns.run(
    param("tenant"),
    param("node"),
    param("type"),
    param("priority") as unknown as number,
    param("jobId"),
  );
  const fireAddress = ns.fire(
    param("tenant"),
    param("node"),
    param("type"),
    param("priority") as unknown as number,
  );
  const fireHeaders = {
    type: "object",
    properties: {
      [Headers.MsgId]: { type: "string", description: "the fire id, `:a<attempt>` added for attempt 2+" },
      [Headers.FireId]: { type: "string", description: "<tenant>.<jobId>:<nominal epoch ms>" },
      [Headers.Epoch]: { type: "string", description: "the leader's lease revision, decimal" },
      [Headers.Nominal]: { type: "string", description: "the nominal fire time, ISO 8601 UTC" },
      [Headers.ContentType]: {
        type: "string",
        enum: ["application/msgpack", "application/json"],
        description: "application/json for the nodes and types of the scheduler's jsonFires setting",
      },
      [Headers.TraceParent]: {
        type: "string",
        description: "W3C trace context of the fire's span, when the scheduler traces (OpenTelemetry)",
      },
      [Headers.TraceState]: { type: "string", description: "W3C tracestate, with traceparent" },
    },
    required: [Headers.MsgId, Headers.FireId, Headers.Epoch, Headers.Nominal, Headers.ContentType],
  };
  const fastJobHeaders = {
    type: "object",
    properties: {
      [Headers.MsgId]: {
        type: "string",
        description:
          "<tenant>.<jobId>:q (should): the same job published again inside the duplicate window is stored once",
      },
      [Headers.ContentType]: {
        type: "string",
        enum: ["application/msgpack", "application/json"],
        description:
          "the producer's choice (the taskjet SDK: msgpack); without it a payload starting with `{` is JSON",
      },
      [RESENT_HEADER]: {
        type: "string",
        enum: ["1"],
        description:
          "on a copy sent again after an unknown outcome (should): the worker asks the store whether the job " +
          "ran already, since a server restart forgets the message ids of jobs already run",
      },
      [Headers.TraceParent]: { type: "string", description: "W3C traceparent: the producer's span" },
      [Headers.TraceState]: { type: "string", description: "W3C tracestate, with traceparent" },
    },
  };
  const consumers =
    `Pull with durable consumers ${prefix}-node<len>-<node>-<type>-p<N> and ${prefix}-any-<type>-p<N> ` +
    `(one per type the worker runs; their filters end in \`*\`, so they take fires and fast-lane jobs alike), ` +
    `explicit ack`;
  channel(
    "fire",
    fireAddress,
    { fire: message("Fire", "FireMessage", { headers: fireHeaders }) },
    `the scheduler's fires (JetStream stream ${ns.streams.run}, work queue), addressed by node, job type and ` +
      `priority; the last token is always \`=fire\` (no job id has an \`=\`): the job is named in the ` +
      `payload and stored in ${ns.buckets.jobs}. ${consumers}`,
  );
  channel(
    "run",
    runAddress,
    {
      fastJob: message("FastJob", "JobInput", {
        headers: fastJobHeaders,
        description:
          "a fast-lane job: an immediate once job published by a client straight to the run stream (its " +
          "PubAck is the acceptance); `id` and `type` required; no delayMs, runAt, beginTime, " +
          "intervalSeconds, endTime, cron; jobType once; tenantId (when given), nodeName, type, priority " +
          "and id must be the subject's tokens. It has no fireId: that is how a worker tells it from a fire",
      }),
    },
    `fast-lane jobs (JetStream stream ${ns.streams.run}, work queue), addressed by node, job type, priority ` +
      `and job id, the same stream and consumers as the fires. ${consumers}`,
  );
  operations["sendFire"] = {
    action: "send",
    channel: ref("#/channels/fire"),
    messages: [ref("#/channels/fire/messages/fire")],
  };
  operations["receiveFastJob"] = {
    action: "receive",
    summary: "clients publish fast-lane jobs (a JetStream publish; wait for the PubAck), workers run them",
    channel: ref("#/channels/run"),
    messages: [ref("#/channels/run/messages/fastJob")],
  };

  sendChannel(
    "ctl",
    "Interrupt",
    ns.ctl(param("node")),
    { interrupt: msgpack("InterruptMessage", "Interrupt") },
    "interrupts to the workers of a node (core NATS)",
  );
  channel(
    "held",
    ns.held,
    { question: message("HeldQuestion", "HeldQuery", { contentType: "application/json" }) },
    "workers ask each other (core NATS request/reply) whether one holds a redelivered fire before they run " +
      "it; only the holder answers, the asker waits 300 ms at most",
  );
  channel(
    "heldAnswer",
    null,
    { answer: message("HeldAnswer", "HeldAnswer", { contentType: "application/json" }) },
    "the holder's answer, on the question's reply inbox",
  );
  operations["askHeld"] = {
    action: "send",
    channel: ref("#/channels/held"),
    messages: [ref("#/channels/held/messages/question")],
    reply: {
      channel: ref("#/channels/heldAnswer"),
      messages: [ref("#/channels/heldAnswer/messages/answer")],
    },
  };

  const eventAddress = ns.event(
    { tenantId: param("tenant"), group: param("group"), type: param("type"), id: param("jobId") },
    param("phase") as (typeof eventPhases)[number],
  );
  sendChannel(
    "events",
    "Event",
    eventAddress,
    {
      event: message("JobEvent", "JobEventData", {
        contentType: "application/json",
        headers: cloudEventHeaders,
        traits: [ref("#/components/messageTraits/CloudEventsNatsBinary")],
      }),
    },
    "job events (core NATS), CloudEvents 1.0 NATS binding, binary mode",
  );

  sendChannel(
    "runLog",
    "RunLog",
    ns.log(param("tenant"), param("jobId")),
    { entry: msgpack("RunLog", "RunLogEntry") },
    `run log (JetStream stream ${ns.streams.log})`,
  );
  sendChannel(
    "deadLetters",
    "DeadLetter",
    ns.dlq(param("tenant"), param("jobId")),
    { deadLetter: msgpack("DeadLetterMessage", "DeadLetter") },
    `dead letters (JetStream stream ${ns.streams.dlq})`,
  );

  const kv = (bucket: string, key: string) => `$KV.${bucket}.${key}`;
  const kvChannels: [string, string, string, string][] = [
    [
      "jobStore",
      kv(
        ns.buckets.jobs,
        ns.jobKey({ tenantId: param("tenant"), group: param("group"), id: param("jobId") }),
      ),
      "JobRecord",
      `the job store (KV bucket ${ns.buckets.jobs}): every write is compare-and-set on the key's revision`,
    ],
    [
      "locks",
      kv(ns.buckets.locks, `${param("tenant")}.${param("jobId")}`),
      "LockValue",
      `run locks (KV bucket ${ns.buckets.locks})`,
    ],
    [
      "registryWorkers",
      kv(ns.buckets.registry, `worker.${param("workerId")}`),
      "WorkerInfo",
      `worker heartbeats (KV bucket ${ns.buckets.registry}, TTL 15 s)`,
    ],
    [
      "registryTypes",
      kv(ns.buckets.registry, `type.${param("type")}`),
      "RegistryType",
      `job types workers handle (KV bucket ${ns.buckets.registry}, TTL 15 s)`,
    ],
  ];
  for (const [id, address, payload, description] of kvChannels) {
    sendChannel(id, cap(id), address, { value: msgpack(`${cap(id)}Value`, payload) }, description);
  }

  return {
    asyncapi: "3.0.0",
    info: {
      title: "taskjet wire protocol",
      version: "1.0.0",
      description:
        "Every taskjet channel, generated from shared/protocol (npm run protocol:generate); the prose is " +
        `docs/protocol.md. Subjects use the default prefix "${prefix}" (TASKJET_PREFIX). The application ` +
        "described is taskjet (schedulers and workers): it receives the API requests and fast-lane jobs, and " +
        "sends fires, events, " +
        "interrupts, run-log entries and store values. Requests are msgpack or JSON by Content-Type; replies " +
        "come in the request's encoding.",
    },
    defaultContentType: "application/msgpack",
    servers: {
      local: { host: "127.0.0.1:4222", protocol: "nats", description: "a nats-server with JetStream" },
    },
    channels,
    operations,
    components: {
      schemas,
      messages,
      messageTraits: {
        CloudEventsNatsBinary: {
          description:
            "CloudEvents 1.0 NATS protocol binding, binary content mode: the event's attributes are the " +
            "ce-* headers, its data the JSON payload",
          externalDocs: {
            url: "https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/nats-protocol-binding.md",
          },
        },
      },
    },
  };
}

const cloudEventHeaders = {
  type: "object",
  properties: {
    "ce-specversion": { type: "string", const: "1.0" },
    "ce-id": { type: "string" },
    "ce-type": {
      type: "string",
      enum: eventPhases.map(eventType),
    },
    "ce-source": {
      type: "string",
      description: "taskjet/worker/<workerId> or /taskjet/scheduler/<replicaId>",
    },
    "ce-subject": { type: "string", description: "the job id" },
    "ce-time": { type: "string", description: "ISO 8601 UTC" },
    [Headers.ContentType]: { type: "string", const: "application/json" },
  },
  required: ["ce-specversion", "ce-id", "ce-type", "ce-source", "ce-subject", "ce-time"],
};
