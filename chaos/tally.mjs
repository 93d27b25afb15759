// The load and the counting every chaos scenario shares (chaos/run.mjs, chaos/partitionDriver.mjs): the
// period jobs, once jobs queued one by one at a steady rate, and the exact count of lost, duplicate and
// missed runs from the file the workers' handler appends to (chaos/recorder.mjs).
import { existsSync, readFileSync } from "node:fs";
import { sleep } from "./services.mjs";

/** Queues `count` every-second period jobs (`p0`...); returns their ids. */
export async function queuePeriodJobs(client, count) {
  const ids = Array.from({ length: count }, (_, i) => `p${i}`);
  await client.scheduler.queueMany(
    ids.map((id) => ({
      id,
      name: id,
      type: "chaos",
      jobType: "period",
      cron: "* * * * * ?",
      args: { ms: 20 },
    })),
  );
  return ids;
}

/**
 * Queues once jobs (`o0`...) at `perSecond` for `durationS`, ten batches a second. Resolves when the load
 * ended and every request was answered: accepted ids, ids whose outcome is unknown (TIMEOUT/UNAVAILABLE
 * after the client's own retries) and refusals by code.
 */
export async function onceLoad(client, { perSecond, durationS }) {
  const t0 = Date.now();
  const accepted = new Set();
  const unknown = new Set();
  const refused = {};
  const inFlight = new Set();
  let n = 0;
  while (Date.now() - t0 < durationS * 1000) {
    const tick = Date.now();
    for (let i = 0; i < perSecond / 10; i++) {
      const id = `o${n++}`;
      const p = client.scheduler
        .queue({ id, name: id, type: "chaos", args: { ms: 20 } })
        .then(
          () => accepted.add(id),
          (err) =>
            err?.code === "TIMEOUT" || err?.code === "UNAVAILABLE"
              ? unknown.add(id)
              : (refused[err?.code ?? "?"] = (refused[err?.code ?? "?"] ?? 0) + 1),
        )
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await sleep(Math.max(0, 100 - (Date.now() - tick)));
  }
  const tEnd = Date.now();
  await Promise.all(inFlight);
  return { t0, tEnd, accepted, unknown, refused };
}

/** The runs file: once jobs by id, period fires by fire id, each with its runs (`at`: ms, when recorded). */
export function countRuns(file) {
  const once = new Map();
  const period = new Map();
  const times = [];
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  for (const line of text.split("\n")) {
    if (!line) continue;
    const [fireId, attempt, delivery, pid, at] = line.split(" ");
    const run = { attempt: Number(attempt), delivery: Number(delivery), pid: Number(pid), at: Number(at) };
    times.push(run.at);
    const id = fireId.slice(fireId.indexOf(".") + 1, fireId.lastIndexOf(":"));
    const [map, key] = id.startsWith("o") ? [once, id] : [period, fireId];
    const rs = map.get(key) ?? [];
    rs.push(run);
    map.set(key, rs);
  }
  return { once, period, times: times.sort((a, b) => a - b) };
}

/** The longest time in [from, to] in which no run was recorded (ms); `times` sorted. */
export function longestGapMs(times, from, to) {
  let last = from;
  let gap = 0;
  for (const t of times) {
    if (t < from) continue;
    if (t > to) break;
    gap = Math.max(gap, t - last);
    last = t;
  }
  return Math.max(gap, to - last);
}

/**
 * The result fields of a run: lost accepted once jobs, duplicate runs (reruns of a fire whose earlier run
 * was on a SIGKILLed worker, `killedPids`, counted apart), period fires missed outside and inside the
 * fault window `outage` ([from, to] ms), from each job's whole seconds 3 s after `t0` to 2 s before `tEnd`.
 */
export function tally(runs, { accepted, unknown, refused, t0, tEnd }, { periodIds, outage, killedPids }) {
  const allowed = (rs) => rs.slice(0, -1).some((r) => killedPids.has(r.pid));
  const lost = [...accepted].filter((id) => !runs.once.has(id));
  const dupOnce = [...runs.once].filter(([, rs]) => rs.length > 1);
  const dupPeriod = [...runs.period].filter(([, rs]) => rs.length > 1);
  let missed = 0;
  let missedInFault = 0;
  for (let s = Math.ceil((t0 + 3000) / 1000) * 1000; s <= tEnd - 2000; s += 1000) {
    for (const id of periodIds) {
      if (runs.period.has(`default.${id}:${s}`)) continue;
      if (s >= outage[0] && s <= outage[1]) missedInFault++;
      else missed++;
    }
  }
  return {
    accepted: accepted.size,
    unknownOutcome: unknown.size,
    unknownRan: [...unknown].filter((id) => runs.once.has(id)).length,
    refused,
    lostOnce: lost.length,
    duplicateOnce: dupOnce.filter(([, rs]) => !allowed(rs)).length,
    rerunAfterWorkerKill: [...dupOnce, ...dupPeriod].filter(([, rs]) => allowed(rs)).length,
    periodFires: runs.period.size,
    duplicatePeriod: dupPeriod.filter(([, rs]) => !allowed(rs)).length,
    periodMissed: missed,
    periodMissedInFault: missedInFault,
    lostIds: lost.slice(0, 5),
    duplicateIds: [...dupOnce, ...dupPeriod]
      .filter(([, rs]) => !allowed(rs))
      .slice(0, 5)
      .map(
        ([id, rs]) =>
          `${id} deliveries ${rs.map((r) => `${r.delivery} (pid ${r.pid} at ${r.at})`).join(", ")}`,
      ),
  };
}

/** One line per scenario over all its runs. */
export function summary(all, scenarios) {
  const sum = (xs, k) => xs.reduce((a, x) => a + (x[k] ?? 0), 0);
  const max = (xs, k) => Math.max(0, ...xs.map((x) => x[k] ?? 0));
  return scenarios.map((scenario) => {
    const xs = all.filter((x) => x.scenario === scenario);
    const refused = {};
    for (const x of xs)
      for (const [k, v] of Object.entries(x.refused ?? {})) refused[k] = (refused[k] ?? 0) + v;
    return (
      `${scenario}: ${xs.length} runs, ${xs.filter((x) => x.error).length} errors; accepted ${sum(xs, "accepted")}, ` +
      `lost ${sum(xs, "lostOnce")}, duplicate once ${sum(xs, "duplicateOnce")}, duplicate period fires ${sum(xs, "duplicatePeriod")} ` +
      `of ${sum(xs, "periodFires")}, reruns after a worker kill ${sum(xs, "rerunAfterWorkerKill")}; period missed ` +
      `${sum(xs, "periodMissed")} outside the fault, ${sum(xs, "periodMissedInFault")} in it (skips recorded ${sum(xs, "periodSkippedRecorded")}); ` +
      `queue requests with unknown outcome ${sum(xs, "unknownOutcome")} (ran anyway ${sum(xs, "unknownRan")}); ` +
      `refused ${JSON.stringify(refused)}` +
      (xs.some((x) => "stallAfterHealMs" in x)
        ? `; reruns of fires whose first run was in the cut ${sum(xs, "duplicatesFirstRunInCut")}; longest ` +
          `stall after the heal ${max(xs, "stallAfterHealMs")} ms (limit ${max(xs, "stallLimitMs")})`
        : "")
    );
  });
}

/**
 * Whether a run broke a promise: an error, a lost accepted job, a duplicate run (but a rerun of a fire whose
 * first run a partition cut off, `duplicatesFirstRunInCut`, like one after a worker SIGKILL) or a stall
 * after the heal over its limit.
 */
export function failedRun(res) {
  return Boolean(
    res.error ||
    res.lostOnce > 0 ||
    res.duplicateOnce + res.duplicatePeriod - (res.duplicatesFirstRunInCut ?? 0) > 0 ||
    (res.stallLimitMs && res.stallAfterHealMs > res.stallLimitMs),
  );
}
