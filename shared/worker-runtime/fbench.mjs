import { encode, decode, FireMessageSchema, parseOrThrow } from "@taskjet/protocol";
const mk = (i) => ({
  fireId: `default.s${i}:1795000000000`,
  jobId: `s${i}`,
  tenantId: "default",
  group: "default",
  name: `tick ${i}`,
  type: "tick",
  jobType: "period",
  args: { i },
  priority: "normal",
  nominalTime: new Date(1795000000000).toISOString(),
  firedAt: new Date().toISOString(),
  attempt: 1,
  reason: "schedule",
  epoch: 5,
  maxTryCount: 50,
  timeoutSeconds: 0,
  lockTimeoutSeconds: 0,
  overlapPolicy: "allow",
  last: false,
  trackRunning: false,
  nextNominalTime: new Date(1795000001000).toISOString(),
  revision: 12345 + i,
});
const N = 10000;
const bytes = Array.from({ length: N }, (_, i) => encode(mk(i)));
const vals = bytes.map((b) => decode(b));
function t(name, fn, rounds = 30) {
  let best = 1e9;
  for (let r = 0; r < rounds; r++) {
    const s = performance.now();
    for (let i = 0; i < N; i++) fn(i);
    const us = ((performance.now() - s) * 1000) / N;
    if (r > 3) best = Math.min(best, us);
  }
  console.log(name, best.toFixed(2), "µs (best round)");
}
t("decode", (i) => decode(bytes[i]));
t("zod", (i) => parseOrThrow(FireMessageSchema, vals[i]));
t("both", (i) => parseOrThrow(FireMessageSchema, decode(bytes[i])));
t("JSON.parse equiv", (i) => JSON.parse(JSON.stringify(vals[i])));
