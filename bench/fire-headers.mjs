// A fire's headers (issue 17: "nothing reads a library's private fields"): the scheduler's pre-encoded
// header bytes (services/scheduler/src/fire/fireHeaders.ts) against a real MsgHdrs from nats.js
// (`headers()` and five `set()` calls; and MsgHdrsImpl.fromRecord, its other public way), each built for
// N (10,000) fires and published to a nats-server of its own (core publish, flushed; every side sends the
// same subjects, payloads and header bytes). Interleaved, REPEAT (3) times after a warm-up; reported:
// median client CPU per fire (µs, user + system of this process), split into building the headers (the
// scheduler does this ahead of the instant) and the publish (at the instant: a real MsgHdrs is turned into
// bytes there). Needs a build (`npx turbo run build`). Prints one JSON line.
import { MsgHdrsImpl, headers as natsHeaders } from "@nats-io/nats-core";
import { connectNats } from "@taskjet/nats";
import { Headers, MSGPACK } from "@taskjet/protocol";
import { startNats } from "@taskjet/testing";
import { fireHeaders } from "../services/scheduler/dist/fire/fireHeaders.js";

const N = Number(process.env.N ?? 10_000);
const REPEAT = Number(process.env.REPEAT ?? 3);

const server = await startNats({ jetstream: false });
const nc = await connectNats({ servers: [server.url], name: "fire-headers" });

const payload = new Uint8Array(180).fill(7); // about a msgpack fire
const fires = Array.from({ length: N }, (_, i) => ({
  subject: `bench.run.t._any.mail.p3.job${i}`,
  msgId: `t.job${i}:1765100000000:a1`,
  nominal: new Date(1765100000000 + i).toISOString(),
  fireId: `t.job${i}:1765100000000`,
}));

const sides = {
  bytes: (f) => fireHeaders(f.msgId, 7, f.nominal, f.fireId, MSGPACK),
  msgHdrs: (f) => {
    const h = natsHeaders();
    h.set(Headers.MsgId, f.msgId);
    h.set(Headers.Epoch, "7");
    h.set(Headers.Nominal, f.nominal);
    h.set(Headers.FireId, f.fireId);
    h.set(Headers.ContentType, MSGPACK);
    return h;
  },
  // nats.js' other public way: a record, no checks of keys and values
  fromRecord: (f) =>
    MsgHdrsImpl.fromRecord({
      [Headers.MsgId]: [f.msgId],
      [Headers.Epoch]: ["7"],
      [Headers.Nominal]: [f.nominal],
      [Headers.FireId]: [f.fireId],
      [Headers.ContentType]: [MSGPACK],
    }),
};

// the two must put the same bytes on the wire
const td = new TextDecoder();
for (const side of ["msgHdrs", "fromRecord"]) {
  const [a, b] = [td.decode(sides.bytes(fires[0]).encode()), td.decode(sides[side](fires[0]).encode())];
  if (a !== b) throw new Error(`${side}: header bytes differ:\n${a}\n${b}`);
}

const cpuUs = (c) => c.user + c.system;
async function run(build) {
  const c0 = process.cpuUsage();
  const built = fires.map((f) => ({ subject: f.subject, headers: build(f) }));
  const c1 = process.cpuUsage();
  for (const f of built) nc.publish(f.subject, payload, { headers: f.headers });
  await nc.flush();
  const c2 = process.cpuUsage();
  return { buildUs: (cpuUs(c1) - cpuUs(c0)) / N, publishUs: (cpuUs(c2) - cpuUs(c1)) / N };
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const names = Object.keys(sides);
const runs = Object.fromEntries(names.map((n) => [n, []]));
for (const n of names) await run(sides[n]); // warm-up
for (let r = 0; r < REPEAT; r++) {
  for (const side of r % 2 === 0 ? names : [...names].reverse()) runs[side].push(await run(sides[side]));
}
const sum = (side) => {
  const build = median(runs[side].map((x) => x.buildUs));
  const publish = median(runs[side].map((x) => x.publishUs));
  const total = median(runs[side].map((x) => x.buildUs + x.publishUs));
  const r2 = (x) => Number(x.toFixed(2));
  return { buildUs: r2(build), publishUs: r2(publish), totalUs: r2(total) };
};
const bytes = sum("bytes");
const out = { n: N, repeat: REPEAT, bytes };
for (const side of ["msgHdrs", "fromRecord"]) {
  const s = sum(side);
  out[side] = {
    ...s,
    extraUsPerFire: Number((s.totalUs - bytes.totalUs).toFixed(2)),
    extraAtInstantUsPerFire: Number((s.publishUs - bytes.publishUs).toFixed(2)),
    cpuRatio: Number((s.totalUs / bytes.totalUs).toFixed(2)),
  };
}
console.log(JSON.stringify(out));

await nc.close();
await server.stop();
