import { TaskjetClient } from "@taskjet/client";

const client = await TaskjetClient.connect();
const s = client.scheduler;

// queue: a no-op when the id exists (created: false and the stored job); an immediate once job takes the
// fast lane (above)
const { id, created, job } = await s.queue({
  id: "nightly-report",
  name: "nightly report",
  group: "reports",
  type: "http",
  jobType: "period",
  cron: "0 0 3 * * ?", // quartz by default; cronDialect: "standard" for 5 fields
  timeZone: "Europe/Berlin",
  args: { url: "https://example.com/report", method: "POST" },
});
console.log(id, created, job.nextRunTime);
await s.queueMany([
  { id: "a", name: "a", type: "console", args: { message: "a" } },
  { id: "b", name: "b", type: "console", args: { message: "b" } },
]); // all or nothing at validation; any number of jobs (sent as pipelined requests of 1,000, results in order)

await s.exists(id); // boolean
await s.get(id); // JobView, or NotFoundError
await s.list({ group: "reports", status: "queuing", limit: 50, offset: 0 }); // { jobs, total, nextOffset? }
// a page may hold fewer than `limit` (replies stay under max_payload): follow nextOffset, or iterate
for await (const j of s.iterate({ type: "http" })) console.log(j.id, j.status);
await s.update(id, { cron: "0 30 3 * * ?", args: { url: "https://example.com/v2" } });

// single id: resolves to { results: [{ id, ok: true }] } or throws the job's typed error
await s.pause(id);
await s.resume(id);
await s.trigger(id); // fire now
await s.stop(id);
await s.start(id);
await s.remove(id, { force: true }); // any job: paused, its runs interrupted, removed
// without force only a stopped or completed job; any other is FailedPreconditionError (field status)
// bulk: many ids, a filter (not empty) or { all: true }; per-job results, check ok on each
const r = await s.pause({ filter: { group: "reports" } });
const failed = r.results.filter((x) => !x.ok); // x.error: { code, message, field?, retryable }
console.log(failed.length);
await s.stop(["a", "b"]);

await s.logs("a", 20); // RunLogEntry[] newest last
await s.logPage("a", { limit: 20, offset: 20 }); // { entries, nextOffset? }: the 20 before the newest 20
await s.status(); // { leader?: { replicaId, host, pid, epoch, since }, replicas, workers, jobs }
await s.standby(); // replicas stop leading (maintenance)
await s.activate();
await client.close();
