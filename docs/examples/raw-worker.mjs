// A taskjet worker for one custom job type with nothing but a NATS client and msgpack (no taskjet package),
// following docs/protocol.md, "Writing a worker in another language", step by step (the Go example in
// docs/examples/go/worker does the same). Needs a running scheduler, e.g. `npx taskjet dev`:
//
//   NATS_URL=nats://127.0.0.1:<port> TASKJET_NODE=js1 node docs/examples/raw-worker.mjs
//
// It runs type `shout` (TASKJET_TYPE): jobs queued with "nodeName": "js1", "type": "shout",
// "args": { "text": "hi" } succeed with "HI"; { "fail": true } fails. Ctrl-C stops it. It takes scheduler
// fires and fast-lane jobs (immediate once jobs a producer published straight to the run stream).
import { connect, headers } from "@nats-io/transport-node";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Packr } from "msgpackr";

const prefix = process.env.TASKJET_PREFIX ?? "taskjet";
const node = process.env.TASKJET_NODE ?? "js1";
const type = process.env.TASKJET_TYPE ?? "shout";
const workerId = `${node}-raw-${process.pid}`;
const ACK_WAIT_MS = 30_000;

// plain msgpack maps (no msgpackr records), as the protocol says
const packr = new Packr({ useRecords: false, mapsAsObjects: true });
// JSON by Content-Type, or (a fast-lane job from any NATS client) by its leading "{"
const decode = (contentType, data) =>
  /^\s*(application|text)\/json/i.test(contentType ?? "") || data[0] === 0x7b
    ? JSON.parse(new TextDecoder().decode(data))
    : packr.unpack(data);
const iso = (ms = Date.now()) => new Date(ms).toISOString();

const nc = await connect({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
const js = jetstream(nc);
const jsm = await jetstreamManager(nc);
const kvm = new Kvm(nc);
const jobs = await kvm.open(`${prefix}-jobs`);
const registry = await kvm.open(`${prefix}-registry`);
const locks = await kvm.open(`${prefix}-locks`);

// step 1: a durable pull consumer per priority for the worker's own node and its job type
// (the type's subject token: every UTF-8 byte outside A-Z a-z 0-9 _ - as =XX)
const token = [...new TextEncoder().encode(type)]
  .map((b) =>
    /[A-Za-z0-9_-]/.test(String.fromCharCode(b))
      ? String.fromCharCode(b)
      : `=${b.toString(16).toUpperCase().padStart(2, "0")}`,
  )
  .join("");
const consumers = [];
for (const p of [5, 4, 3, 2, 1]) {
  const name = `${prefix}-node${node.length}-${node}-${token}-p${p}`;
  await jsm.consumers
    .add(`${prefix}-run`, {
      durable_name: name,
      filter_subject: `${prefix}.run.*.${node}.${token}.p${p}.*`,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: ACK_WAIT_MS * 1_000_000,
      max_deliver: -1,
      max_ack_pending: 1000,
    })
    .catch(() => undefined); // exists already (another worker of this node): use it as it is
  consumers.push(await js.consumers.get(`${prefix}-run`, name));
}

// step 10: the registry heartbeat (status lists the worker; the reaper keeps its running entries)
const beat = () =>
  Promise.all([
    registry.put(
      `worker.${workerId}`,
      packr.pack({
        workerId,
        node,
        host: "raw",
        pid: process.pid,
        types: [type],
        concurrency: 1,
        running: 0,
        seenAt: iso(),
      }),
    ),
    registry.put(`type.${type}`, packr.pack({ type, nodes: [node], seenAt: iso() })),
  ]).catch((err) => console.error(`heartbeat: ${err.message}`));
await beat();
const heartbeat = setInterval(beat, 5_000);

/** Step 4's read, from the stream leader; undefined when the job does not exist. */
async function readJob(key) {
  const m = await jsm.streams
    .getMessage(`KV_${prefix}-jobs`, { last_by_subj: `$KV.${prefix}-jobs.${key}` })
    .catch(() => null);
  const op = m?.header?.get("KV-Operation");
  if (!m || op === "DEL" || op === "PURGE") return undefined;
  return { ...packr.unpack(m.data), revision: m.seq };
}

async function takeLock(fire) {
  const key = `${fire.tenantId}.${fire.jobId}`;
  const value = packr.pack({
    owner: workerId,
    fireId: fire.fireId,
    expiresAt: Date.now() + fire.lockTimeoutSeconds * 1000,
  });
  try {
    return { key, revision: await locks.create(key, value) };
  } catch {
    const held = await locks.get(key);
    if (held?.operation === "PUT" && packr.unpack(held.value).expiresAt > Date.now()) return undefined;
    return locks.update(key, value, held?.revision ?? 0).then(
      (revision) => ({ key, revision }),
      () => undefined,
    );
  }
}

/** Step 7's write: compare-and-set; on a conflict read again and re-apply. */
async function update(key, job, apply) {
  for (let i = 0; i < 20 && job; i++) {
    apply(job.state, job.def);
    try {
      job.revision = await jobs.update(key, packr.pack({ def: job.def, state: job.state }), job.revision);
      return job;
    } catch {
      job = await readJob(key);
    }
  }
  throw new Error(`could not write ${key}`);
}

/**
 * A fast-lane job's one write: create its finished (or failedRetry) record, or nothing when its retention is
 * `true` for how it ended. A record there already is this run's (doneRuns) or another job's: left alone.
 */
async function createRecord(key, job, apply, runKey) {
  apply(job.state, job.def);
  const { status, isAbandoned } = job.state;
  if (status === "completed" && job.def.removeOnComplete === true) return;
  if (status === "stopped" && isAbandoned && job.def.removeOnFail === true) return;
  try {
    await jobs.create(key, packr.pack({ def: job.def, state: job.state }));
  } catch {
    const there = await readJob(key);
    if (!there?.state?.doneRuns?.includes(runKey))
      console.error(`${key}: a stored job has this id; the fast-lane run's outcome is not written`);
  }
}

function applyResult(state, def, fire, error, result, startedAt) {
  const held = state.status === "paused" || state.status === "stopped";
  const recurring = def.jobType !== "once";
  state.updatedAt = iso();
  state.lastRunTime = startedAt;
  state.running = (state.running ?? []).filter((r) => r.fireId !== fire.fireId);
  if (fire.nextNominalTime) state.nextRunTime = fire.nextNominalTime;
  else if (fire.last) delete state.nextRunTime;
  // who counts: the worker, for jobs the scheduler does not count, scheduled fires newer than lastFireTime
  const schedulerCounts = def.maxCount > 0 || def.overlapPolicy !== "allow" || def.lockTimeoutSeconds > 0;
  const newer = !state.lastFireTime || Date.parse(fire.nominalTime) > Date.parse(state.lastFireTime);
  if (!schedulerCounts && (fire.reason === "schedule" || fire.reason === "catchUp") && newer) {
    state.lastFireTime = fire.nominalTime;
    state.triggerCount = (state.triggerCount ?? 0) + 1;
  }
  const runKey =
    fire.fireId.slice(fire.fireId.lastIndexOf(":") + 1) + (fire.attempt > 1 ? `:a${fire.attempt}` : "");
  state.doneRuns = [...(state.doneRuns ?? []).filter((k) => k !== runKey), runKey].slice(-64);
  delete state.retryAt;
  if (!error) {
    Object.assign(state, { tryCount: 0, isAbandoned: false });
    delete state.lastError;
    delete state.result;
    if (result !== undefined) state.result = result;
    if (!held) state.status = !recurring || fire.last ? "completed" : "queuing";
    return;
  }
  state.tryCount = (state.tryCount ?? 0) + 1;
  state.lastError = error;
  if (def.maxTryCount > 0 && state.tryCount >= def.maxTryCount) {
    Object.assign(state, { status: "stopped", isAbandoned: true });
  } else if (recurring) {
    if (!held) state.status = fire.last ? "completed" : "queuing";
  } else {
    const delayMs = Math.min(1000 * 2 ** (state.tryCount - 1), 3_600_000) * (0.5 + Math.random());
    state.retryAt = iso(Date.now() + delayMs);
    if (!held) state.status = "failedRetry";
  }
}

function runLog(fire, outcome, extra = {}) {
  const h = headers();
  h.set("Content-Type", "application/msgpack");
  const entry = {
    fireId: fire.fireId,
    jobId: fire.jobId,
    tenantId: fire.tenantId,
    group: fire.group,
    type: fire.type,
    name: fire.name,
    attempt: fire.attempt,
    nominalTime: fire.nominalTime,
    outcome,
    finishedAt: iso(),
    worker: workerId,
    node,
    ...extra,
  };
  return js.publish(`${prefix}.log.${fire.tenantId}.${fire.jobId}`, packr.pack(entry), { headers: h });
}

const PRIORITIES = ["low", "belowNormal", "normal", "aboveNormal", "high"];

/**
 * A fast-lane job (a message without fireId: docs/protocol.md, "The fast lane"): its definition with the
 * protocol's defaults, checked against the subject's tokens. A minimal check of the fields this worker
 * uses; taskjet's own workers check the whole job schema.
 */
function fastJob(input, subject) {
  const [, , tenant, subjectNode, , pN, jobId] = subject.split(".");
  const def = {
    group: "default",
    args: {},
    jobType: "once",
    priority: "normal",
    maxTryCount: 50,
    maxCount: 0,
    timeoutSeconds: 0,
    lockTimeoutSeconds: 0,
    overlapPolicy: "allow",
    actions: [],
    ...input,
    tenantId: input.tenantId ?? tenant,
  };
  for (const f of ["delayMs", "runAt", "beginTime", "intervalSeconds", "endTime", "cron"])
    if (def[f] !== undefined) throw new Error(`invalid fast-lane job: ${f}: a fast-lane job starts now`);
  if (def.jobType !== "once") throw new Error("invalid fast-lane job: jobType: once jobs only");
  if (typeof def.name !== "string" || def.name === "") throw new Error("invalid fast-lane job: name");
  if (def.type !== type) throw new Error(`invalid fast-lane job: type: "${def.type}" is not ${type}`);
  if (def.tenantId !== tenant) throw new Error("invalid fast-lane job: tenantId does not match the subject");
  if ((def.nodeName ?? "_any") !== subjectNode)
    throw new Error("invalid fast-lane job: nodeName does not match the subject");
  if (`p${PRIORITIES.indexOf(def.priority) + 1}` !== pN)
    throw new Error("invalid fast-lane job: priority does not match the subject");
  if (def.id !== jobId) throw new Error("invalid fast-lane job: id does not match the subject");
  if (typeof def.args !== "object" || def.args === null || Array.isArray(def.args))
    throw new Error("invalid fast-lane job: args must be an object");
  return def;
}

/** The fire of a fast-lane job: nominal time = when the stream stored it (its acceptance). */
function fastFire(def, acceptedMs) {
  const at = iso(acceptedMs);
  return {
    fireId: `${def.tenantId}.${def.id}:${acceptedMs}`,
    jobId: def.id,
    tenantId: def.tenantId,
    group: def.group,
    name: def.name,
    type: def.type,
    jobType: "once",
    args: def.args,
    priority: def.priority,
    ...(def.nodeName ? { nodeName: def.nodeName } : {}),
    nominalTime: at,
    firedAt: at,
    attempt: 1,
    reason: "schedule",
    epoch: 0,
    maxTryCount: def.maxTryCount,
    timeoutSeconds: def.timeoutSeconds,
    lockTimeoutSeconds: def.lockTimeoutSeconds,
    overlapPolicy: def.overlapPolicy,
    last: true,
    trackRunning: false,
  };
}

async function handle(m) {
  // step 2: decode and check; poison is dead-lettered and terminated
  let fire;
  let fast; // a fast-lane job's definition: the message is its record until it has run
  try {
    fire = decode(m.headers?.get("Content-Type"), m.data);
    if (fire !== null && typeof fire === "object" && !("fireId" in fire)) {
      fast = fastJob(fire, m.subject);
      fire = fastFire(fast, m.time.getTime());
    }
    const [, , tenant, subjectNode, , , jobId] = m.subject.split(".");
    if (
      typeof fire?.fireId !== "string" ||
      fire.tenantId !== tenant ||
      (fire.nodeName ?? "_any") !== subjectNode ||
      // the scheduler's fires end in "=fire" (no job id has an "="); a fast-lane job's subject ends in its id
      (jobId !== "=fire" && fire.jobId !== jobId)
    )
      throw new Error("invalid fire: fireId, tenantId, nodeName or jobId");
  } catch (err) {
    const h = headers();
    h.set("Content-Type", "application/msgpack");
    const letter = {
      reason: "poison",
      error: err.message,
      subject: m.subject,
      at: iso(),
      rawBase64: Buffer.from(m.data).toString("base64"),
    };
    const token = (v) => (typeof v === "string" && /^[A-Za-z0-9_-]{1,128}$/.test(v) ? v : "_unknown");
    const dlq = `${prefix}.dlq.${token(fire?.tenantId)}.${token(fire?.jobId ?? fire?.id)}`;
    await js.publish(dlq, packr.pack({ ...letter, ...(fire ? { fire } : {}) }), { headers: h });
    m.term();
    return;
  }
  // step 3: start at the nominal time
  await new Promise((r) =>
    setTimeout(r, Math.min(5000, Math.max(0, Date.parse(fire.nominalTime) - Date.now()))),
  );
  // step 4: read the job; skip removed, paused, stopped and finished fires (completed ones run)
  const key = `${fire.tenantId}.${fire.group}.${fire.jobId}`;
  let job = await readJob(key);
  const runKey =
    fire.fireId.slice(fire.fireId.lastIndexOf(":") + 1) + (fire.attempt > 1 ? `:a${fire.attempt}` : "");
  // a fast-lane job has no record before its run: the one it would find is its own from a finished run
  // (a redelivery after a lost ack) or another job's of the same id (left alone at the end)
  if (fast && !job?.state?.doneRuns?.includes(runKey)) {
    job = { def: fast, state: { status: "queuing", triggerCount: 0, tryCount: 0, isAbandoned: false } };
    Object.assign(job.state, { createdAt: fire.nominalTime, updatedAt: fire.nominalTime, running: [] });
  }
  const skip = !job
    ? "removed"
    : ["paused", "stopped"].includes(job.state.status)
      ? job.state.status
      : job.state.doneRuns?.includes(runKey)
        ? "finished"
        : undefined;
  if (skip) {
    await m.ackAck();
    await runLog(fire, "skipped", { reason: skip });
    return;
  }
  // step 5: the job's lock (create, or take over an expired one; held: back in 1 s) and its running entry
  let lock;
  if (fire.lockTimeoutSeconds > 0) {
    lock = await takeLock(fire);
    if (!lock) return m.nak(1000);
  }
  const startedAt = iso();
  if (fire.trackRunning) {
    job = await update(key, job, (s) => {
      const entry = {
        fireId: fire.fireId,
        nominalTime: fire.nominalTime,
        worker: workerId,
        node,
        startedAt,
        attempt: fire.attempt,
      };
      s.running = [...(s.running ?? []).filter((r) => r.fireId !== fire.fireId), entry];
      if (s.status !== "paused" && s.status !== "stopped") s.status = "running";
    });
  }
  // step 6: run, keeping the fire alive
  await runLog(fire, "started", { startedAt });
  const alive = setInterval(() => m.working(), ACK_WAIT_MS / 3);
  let result, error;
  try {
    if (fire.type !== type) throw new Error(`no handler for ${fire.type}`);
    if (fire.args.fail) throw new Error("asked to fail");
    result = String(fire.args.text ?? "").toUpperCase();
  } catch (err) {
    error = err.message;
  } finally {
    clearInterval(alive);
  }
  // step 7: the outcome, then the ack; step 8: the run log
  if (fast) await createRecord(key, job, (s, d) => applyResult(s, d, fire, error, result, startedAt), runKey);
  else await update(key, job, (s, d) => applyResult(s, d, fire, error, result, startedAt));
  await m.ackAck();
  if (lock) await locks.delete(lock.key, { previousSeq: lock.revision }).catch(() => undefined);
  await runLog(fire, error ? "failed" : "succeeded", {
    startedAt,
    durationMs: Date.now() - Date.parse(startedAt),
    ...(error ? { error } : { result }),
  });
  console.log(`${fire.fireId}: ${error ? `failed: ${error}` : `succeeded: ${result}`}`);
}

let running = true;
process.once("SIGINT", () => (running = false));
process.once("SIGTERM", () => (running = false));
console.log(`raw worker ${workerId}: node ${node}, type ${type}`);
while (running) {
  let got = false;
  for (const c of consumers) {
    const m = await c.next({ expires: 1000 }).catch(() => null);
    if (!m) continue;
    await handle(m).catch((err) => {
      console.error(`${m.subject}: ${err.message} (handing the fire back)`);
      m.nak(1000);
    });
    got = true;
    break;
  }
  if (!got) await new Promise((r) => setTimeout(r, 100));
}
clearInterval(heartbeat);
await registry.purge(`worker.${workerId}`).catch(() => undefined);
await nc.drain();
