// Floor of the precision benchmark: bare JetStream with no taskjet in the path. Every second, SCHEDULES
// messages stamped with that second are published (lean, PubAck awaited, LEAD_MS before the second, as
// taskjet's leader publishes ahead) to a work-queue stream; a pull consumer (CONCURRENCY in flight) acks
// each one and records lateness = max(arrival, nominal second) - nominal second, the best a worker holding
// early messages until their second could do. Prints one JSON line.
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

const server = await startNats();
// two connections, as the scheduler and the worker are two processes in taskjet
const pub = await connect({ servers: [server.url] });
const sub = await connect({ servers: [server.url] });
const jsm = await jetstreamManager(pub);
await floorStream(jsm, 50_000);
const mux = new RequestMux(pub, directPublisher(pub), 60_000);
const payload = new Uint8Array(120);
const td = new TextDecoder();

const fromMs = nextSecond(Date.now()) + warmupS * 1000;
const book = new FireBook(schedules, fromMs, fromMs + durationS * 1000);
const consumer = await jetstream(sub).consumers.get("floor", "w");
const messages = await consumer.consume({ max_messages: concurrency });
(async () => {
  for await (const m of messages) {
    const [, i, nominal] = m.subject.split(".");
    const n = Number(nominal);
    book.record(Number(i), n, Math.max(Date.now(), n));
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
      acks.push(
        mux.request(`floor.${i}.${second}`, payload, h).then(
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
const result = { system: "jetstream-floor", schedules, durationS, leadMs, ...book.result(), failed };
result.cpuUsPerRun = {
  natsServer: ((natsAtEnd.cpuMs - natsAtStart.cpuMs) * 1000) / (result.seen || 1),
  publisherAndConsumer: (cpu.user + cpu.system) / (result.seen || 1),
};
console.log(JSON.stringify(result));
process.exit(0);
