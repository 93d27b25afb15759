// Queue a job and read its events with nothing but a NATS client and JSON (no taskjet package).
// Needs a running scheduler and worker, e.g. `npx taskjet dev` in another terminal.
import { connect, headers } from "@nats-io/transport-node";

const servers = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const prefix = process.env.TASKJET_PREFIX ?? "taskjet";
const id = `hello-${Date.now()}`;

const nc = await connect({ servers });
const json = headers();
json.set("Content-Type", "application/json");
const call = async (op, body) => {
  const reply = await nc.request(`${prefix}.api.default.${op}`, JSON.stringify(body), {
    headers: json,
    timeout: 5000,
  });
  const envelope = JSON.parse(reply.string());
  if (!envelope.ok)
    throw new Error(`${envelope.error.code} (${envelope.error.field ?? "-"}): ${envelope.error.message}`);
  return envelope.data;
};

// Subscribe first, so no event is missed: <prefix>.evt.<tenant>.<group>.<type>.<jobId>.<phase>
const events = nc.subscribe(`${prefix}.evt.default.*.*.${id}.*`);
const queued = await call("queue", {
  id,
  name: "hello",
  type: "console",
  args: { message: "hello from JSON" },
});
console.log(`queued ${queued.id} (created: ${queued.created})`);

const timer = setTimeout(() => events.unsubscribe(), 15_000);
for await (const m of events) {
  const data = JSON.parse(m.string());
  console.log(
    `${m.headers?.get("ce-type")}: status=${data.status} result=${JSON.stringify(data.result ?? null)}`,
  );
  if (data.phase === "after") break;
}
clearTimeout(timer);

// The worker writes the outcome (status, result) before its after-event; the scheduler counts the dispatch
// (triggerCount) in its own write, which may land a moment later.
let { job } = await call("get", { id });
for (let i = 0; i < 20 && job.triggerCount === 0; i++) {
  await new Promise((r) => setTimeout(r, 100));
  ({ job } = await call("get", { id }));
}
console.log(`job ${job.id}: status=${job.status} triggerCount=${job.triggerCount}`);

// The fast lane: an immediate once job published straight to the run stream. A JetStream publish is a
// request whose reply is the stream's PubAck; the PubAck is the acceptance. Subject
// <prefix>.run.<tenant>.<node or _any>.<type token>.p<priority 1..5>.<jobId>; Nats-Msg-Id <tenant>.<jobId>:q.
// Nobody checks its args at acceptance (the SDK, CLI and gateway do, and so does the scheduler for a `queue`
// request): args its type's schema refuses fail the first run for good.
const fastId = `fast-${Date.now()}`;
const fastEvents = nc.subscribe(`${prefix}.evt.default.*.*.${fastId}.after`, { max: 1 });
const pub = headers();
pub.set("Content-Type", "application/json");
pub.set("Nats-Msg-Id", `default.${fastId}:q`);
const ack = JSON.parse(
  (
    await nc.request(
      `${prefix}.run.default._any.console.p3.${fastId}`,
      JSON.stringify({ id: fastId, name: "fast hello", type: "console", args: { message: "fast lane" } }),
      { headers: pub, timeout: 5000 },
    )
  ).string(),
);
if (ack.error) throw new Error(`not accepted: ${ack.error.description}`);
console.log(`accepted ${fastId} (stream ${ack.stream}, seq ${ack.seq})`);
for await (const m of fastEvents) console.log(`fast lane after: status=${JSON.parse(m.string()).status}`);
await nc.close();
