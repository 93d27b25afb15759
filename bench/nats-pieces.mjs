// The hand-written NATS pieces against nats.js with noAsyncTraces on (issue 17: "re-measure each hand-written
// piece against nats.js, keep only what a benchmark still justifies"). One nats-server of its own; for each
// operation the lean form and nats.js' own, interleaved, REPEAT (3) times, N (20,000) operations each at
// CONCURRENCY (100) in flight; reported: median operations/s and median client CPU per operation (µs, user +
// system of this process, the cost the worker and scheduler pay on their hot paths).
//   kv.get      leanKv's direct get over RequestMux          vs  kv.get (nats.js, direct get)
//   kv.update   leanKv's compare-and-set over RequestMux     vs  kv.update
//   js.publish  PubAckMux (RequestMux + parsePubAck)         vs  js.publish
//   request     RequestMux.request to a core NATS responder  vs  nc.request
// Both sides use connectNats (noAsyncTraces: true) on separate connections. Prints one JSON line per case.
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { connectNats, directPublisher, leanKv, parsePubAck, RequestMux } from "@taskjet/nats";
import { startNats } from "@taskjet/testing";

const N = Number(process.env.N ?? 20_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 100);
const REPEAT = Number(process.env.REPEAT ?? 3);

const server = await startNats();
const lean = await connectNats({ servers: [server.url], name: "lean" });
const plain = await connectNats({ servers: [server.url], name: "plain" });
const echo = await connectNats({ servers: [server.url], name: "echo" });
echo.subscribe("bench.echo", { callback: (_e, m) => m.respond(m.data) });
await echo.flush();

const bucket = "pieces";
const kvPlain = await new Kvm(plain).create(bucket, { history: 1, allow_direct: true });
const kvOfLean = await new Kvm(lean).open(bucket);
const mux = new RequestMux(lean, directPublisher(lean), 10_000);
const kvLean = leanKv(kvOfLean, bucket, mux);
const jsm = await jetstreamManager(plain);
await jsm.streams.add({
  name: "PIECES_RUN",
  subjects: ["pieces.run.>"],
  storage: "memory",
  max_msgs: 100_000,
});
const js = jetstream(plain);

const value = new TextEncoder().encode(
  JSON.stringify({ id: "x", name: "a job", args: { n: 1 }, status: "queuing" }),
);
const KEYS = 1_000;
for (let i = 0; i < KEYS; i++) await kvPlain.put(`k${i}`, value);
const revisions = new Map();
for (let i = 0; i < KEYS; i++) revisions.set(`k${i}`, (await kvPlain.get(`k${i}`)).revision);

async function drive(op) {
  let next = 0;
  const lane = async () => {
    while (next < N) await op(next++);
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    opsPerS: Math.round((N / ms) * 1000),
    cpuUsPerOp: Number(((cpu.user + cpu.system) / N).toFixed(1)),
  };
}

// compare-and-set on its own key per lane slot: each key is updated by one operation at a time
const casOn = (kv) => async (i) => {
  const key = `k${i % KEYS}`;
  // a key is in one lane at a time only when CONCURRENCY <= KEYS; a conflict re-reads and tries again
  for (;;) {
    try {
      revisions.set(key, await kv.update(key, value, revisions.get(key)));
      return;
    } catch {
      revisions.set(key, (await kvPlain.get(key)).revision);
    }
  }
};
const h = () => natsHeaders();
const cases = {
  "kv.get": {
    lean: (i) => kvLean.get(`k${i % KEYS}`),
    natsjs: (i) => kvPlain.get(`k${i % KEYS}`),
  },
  "kv.update": { lean: casOn(kvLean), natsjs: casOn(kvPlain) },
  "js.publish": {
    lean: (i) => mux.request(`pieces.run.a.${i % 100}`, value, h()).then(parsePubAck),
    natsjs: (i) => js.publish(`pieces.run.b.${i % 100}`, value),
  },
  request: {
    lean: () => mux.request("bench.echo", value),
    natsjs: () => plain.request("bench.echo", value, { timeout: 10_000 }),
  },
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, sides] of Object.entries(cases)) {
  const runs = { lean: [], natsjs: [] };
  // warm both up, then interleave
  await drive(sides.lean);
  await drive(sides.natsjs);
  for (let r = 0; r < REPEAT; r++) {
    for (const side of r % 2 === 0 ? ["lean", "natsjs"] : ["natsjs", "lean"])
      runs[side].push(await drive(sides[side]));
  }
  const sum = (side) => ({
    opsPerS: median(runs[side].map((x) => x.opsPerS)),
    cpuUsPerOp: median(runs[side].map((x) => x.cpuUsPerOp)),
  });
  const l = sum("lean");
  const p = sum("natsjs");
  console.log(
    JSON.stringify({
      case: name,
      n: N,
      concurrency: CONCURRENCY,
      lean: l,
      natsjs: p,
      throughputRatio: Number((l.opsPerS / p.opsPerS).toFixed(2)),
      cpuRatio: Number((p.cpuUsPerOp / l.cpuUsPerOp).toFixed(2)),
    }),
  );
}

mux.close();
for (const nc of [lean, plain, echo]) await nc.close();
await server.stop();
