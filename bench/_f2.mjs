// Floor of the throughput benchmark: what bare JetStream does on this machine, with no taskjet in the path.
// JOBS messages are published from one client, 1000 at a time and pipelined as queueMany does, to a
// work-queue stream. A pull consumer with CONCURRENCY in flight acks them one by one. Timed from the first
// publish to the last ack. Prints one JSON line.
//   MODE=stock       nats.js js.publish (a PubAck awaited per message)
//   MODE=lean        the same through @taskjet/nats' RequestMux (PubAck awaited, no per-request timer/Error)
//   MODE=noack       plain core publishes into the stream, no PubAck: an upper bound, not a safe client
//   MODE=lean-put    lean, plus one KV create per job after its run: the fast lane's least (the job's message is
//                    its record until it finishes; the finished record is written once)
//   MODE=store-lean  lean, plus what any store-backed design pays at least: a KV create per job before its
//                    publish and a compare-and-set KV update per job after its run (no scheduler, no job read)
//   MODE=kv-queue    no separate run message: the consumer reads the KV stream itself (the create is the
//                    run), then writes the update, which the consumer also receives and acks unread. Not
//                    taskjet's architecture (fires go to node-addressed subjects); the least a store can pay
import { connect, headers } from "@nats-io/transport-node";
import { jetstreamManager, jetstream, AckPolicy } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { RequestMux, directPublisher, leanKv } from "@taskjet/nats";
import { startNats } from "@taskjet/testing";
import { floorStream } from "/work/main/bench/lib.mjs";
import { procStat } from "/work/main/bench/procstat.mjs";

const jobs = Number(process.env.JOBS ?? 20_000);
const concurrency = Number(process.env.CONCURRENCY ?? 100);
const mode = process.env.MODE ?? "lean";
if (!["stock", "lean", "noack", "lean-put", "store-lean", "kv-queue"].includes(mode))
  throw new Error(`MODE: unknown ${mode}`);

const server = await startNats();
const nc = await connect({ servers: [server.url] });
const jsm = await jetstreamManager(nc);
await floorStream(jsm, 10_000, process.env.EXTRA ? "floor.a.*" : undefined);
for (let i = 0; i < Number(process.env.EXTRA ?? 0); i++)
  await jsm.consumers.add("floor", { durable_name: `x${i}`, ack_policy: AckPolicy.Explicit, filter_subject: `floor.b${i}.*` });
const js = jetstream(nc);
const mux = new RequestMux(nc, directPublisher(nc), 60_000);
const kv =
  mode === "store-lean" || mode === "kv-queue" || mode === "lean-put"
    ? leanKv(await new Kvm(nc).create("floorjobs", { history: 1, allow_direct: true }), "floorjobs", mux)
    : undefined;
const payload = new Uint8Array(120);
const done1 = new Uint8Array(1); // the completion record (told apart by its size in kv-queue mode)
const td = new TextDecoder();

let done = 0;
let finish;
const finished = new Promise((r) => (finish = r));
if (mode === "kv-queue") {
  await jsm.consumers.add("KV_floorjobs", {
    durable_name: "w",
    ack_policy: AckPolicy.Explicit,
    max_ack_pending: 10_000,
  });
}
const consumer = await js.consumers.get(mode === "kv-queue" ? "KV_floorjobs" : "floor", "w");
const messages = await consumer.consume({ max_messages: concurrency });
(async () => {
  for await (const m of messages) {
    const settle = () => {
      m.ack();
      if (++done === jobs) finish(performance.now());
    };
    if (mode === "kv-queue") {
      // the worker's own update comes back through the consumer: ack it, no run
      if (m.data.length === 1) m.ack();
      else void kv.update(m.subject.slice("$KV.floorjobs.".length), done1, m.seq).then(settle);
    } else if (mode === "lean-put") void kv.create(m.subject.split(".").pop(), payload).then(settle);
    else if (kv) void kv.update(m.subject.slice(6), payload, Number(m.headers?.get("rev"))).then(settle);
    else settle();
  }
})();

async function publish(key) {
  if (mode === "kv-queue") return kv.create(key, payload);
  const h = headers();
  h.set("Nats-Msg-Id", key);
  if (mode === "store-lean") h.set("rev", String(await kv.create(key, payload)));
  const subject = process.env.EXTRA ? `floor.a.${key}` : `floor.${key}`;
  if (mode === "stock") return js.publish(subject, payload, { msgID: key });
  if (mode === "noack") return nc.publish(subject, payload, { headers: h });
  const ack = JSON.parse(td.decode((await mux.request(subject, payload, h)).data));
  if (ack.error) throw new Error(ack.error.description);
}

const natsBefore = procStat(server.pid);
const selfBefore = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < jobs; i += 1000) {
  const batch = [];
  for (let j = i; j < Math.min(jobs, i + 1000); j++) batch.push(publish(`j${j}`));
  await Promise.all(batch);
  if (mode === "noack") await nc.flush();
}
const t1 = await finished;
const seconds = (t1 - t0) / 1000;
const natsAfter = procStat(server.pid);
const self = process.cpuUsage(selfBefore);
console.log(
  JSON.stringify({
    system: `jetstream-floor/${mode}`,
    jobs,
    concurrency,
    seconds,
    jobsPerSecond: jobs / seconds,
    cpuUsPerJob: {
      natsServer: ((natsAfter.cpuMs - natsBefore.cpuMs) * 1000) / jobs,
      clientAndWorker: (self.user + self.system) / jobs,
    },
  }),
);
await messages.close();
mux.close();
await nc.close();
await server.stop();
process.exit(0);
