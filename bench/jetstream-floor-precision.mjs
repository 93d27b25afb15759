// Floor of the precision benchmark: bare JetStream with no taskjet in the path. Every second, SCHEDULES
// messages stamped with that second are published (lean, PubAck awaited, LEAD_MS before the second, as
// taskjet's leader publishes ahead) to a work-queue stream; a pull consumer (CONCURRENCY in flight) acks
// each one and records lateness = max(arrival, nominal second) - nominal second, the best a worker holding
// early messages until their second could do. Prints one JSON line.
// SUBJECTS=per-type (default) publishes every message on one subject, as taskjet's scheduler publishes its
// fires (`...p3.=fire`, one per node, type and priority) and filters the consumer as a worker does;
// SUBJECTS=per-job puts the schedule's index last instead (one subject per job, as fires were before the
// tenth session): the figure that moved fires to one subject per type.
import { connect, headers } from "@nats-io/transport-node";
import { jetstreamManager, jetstream } from "@nats-io/jetstream";
import { RequestMux, directPublisher } from "@taskjet/nats";
import { startNats } from "@taskjet/testing";
import { FireBook, floorStream, nextSecond, sleep } from "./lib.mjs";
import { procStat } from "./procstat.mjs";

const schedules = Number(process.env.SCHEDULES ?? 10_000);
const durationS = Number(process.env.DURATION_S ?? 30);
const warmupS = Number(process.env.WARMUP_S ?? 3);
const concurrency = Number(process.env.CONCURRENCY ?? 200);
const leadMs = Number(process.env.LEAD_MS ?? 1000);
const perJob = (process.env.SUBJECTS ?? "per-type") === "per-job";

const server = await startNats();
// two connections, as the scheduler and the worker are two processes in taskjet
const pub = await connect({ servers: [server.url] });
const sub = await connect({ servers: [server.url] });
const jsm = await jetstreamManager(pub);
await floorStream(jsm, 50_000, "floor.*._any.ty.p3.*");
const mux = new RequestMux(pub, directPublisher(pub), 60_000);
const payload = new Uint8Array(120);
const td = new TextDecoder();

const fromMs = nextSecond(Date.now()) + warmupS * 1000;
const book = new FireBook(schedules, fromMs, fromMs + durationS * 1000);
const consumer = await jetstream(sub).consumers.get("floor", "w");
const messages = await consumer.consume({ max_messages: concurrency });
(async () => {
  for await (const m of messages) {
    const n = Number(m.headers.get("N"));
    book.record(Number(m.headers.get("I")), n, Math.max(Date.now(), n));
    m.ack();
  }
})();

let publishing = true;
let failed = 0;
(async () => {
  for (let second = nextSecond(Date.now()) + 1000; publishing; second += 1000) {
    await sleep(Math.max(0, second - leadMs - Date.now()));
    const acks = [];
    for (let i = 0; i < schedules; i++) {
      const h = headers();
      h.set("Nats-Msg-Id", `${i}:${second}`);
      h.set("I", String(i));
      h.set("N", String(second));
      acks.push(
        mux.request(perJob ? `floor.t._any.ty.p3.${i}` : "floor.t._any.ty.p3.=fire", payload, h).then(
          (m) => void (JSON.parse(td.decode(m.data)).error && failed++),
          () => failed++,
        ),
      );
    }
    await Promise.all(acks);
  }
})();

await sleep(fromMs - Date.now());
const natsAtStart = procStat(server.pid);
const cpuAtStart = process.cpuUsage();
await sleep(durationS * 1000);
const natsAtEnd = procStat(server.pid);
const cpu = process.cpuUsage(cpuAtStart);
await sleep(3000);
publishing = false;
const result = {
  system: "jetstream-floor",
  subjects: perJob ? "per-job" : "per-type",
  schedules,
  durationS,
  leadMs,
  ...book.result(),
  failed,
};
result.cpuUsPerRun = {
  natsServer: ((natsAtEnd.cpuMs - natsAtStart.cpuMs) * 1000) / (result.seen || 1),
  publisherAndConsumer: (cpu.user + cpu.system) / (result.seen || 1),
};
console.log(JSON.stringify(result));
process.exit(0);
