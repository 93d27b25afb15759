// Dashboard jobs-page benchmark (issue 15): JOBS period jobs (default 100,000) written straight into the job
// store, a scheduler process that loads them, a gateway in this process, and Debian's Chromium (playwright-
// core) on the dashboard's Jobs page. Measures, REPEAT times each (medians and max printed):
//   api        GET /v1/jobs?limit=50 at several offsets and with filters, from this process (the gateway
//              asks the scheduler's list op, which filters and sorts the in-memory index)
//   render     in the page: from the end of the /v1/jobs response (Resource Timing responseEnd) to the
//              first frame with the table's rows (a MutationObserver, then requestAnimationFrame): the
//              promise is "the first page within 1 s of the data arriving"
//   click      in the page: from the "Next" click to the frame with the next page's rows (request included)
// `npx turbo run build` first. JOBS=1000000 for the million-job paging figures. Prints one JSON line.
/* global document, requestAnimationFrame, MutationObserver -- page.evaluate callbacks run in the browser */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { connectTo, startNats, uniqueName, waitFor } from "@taskjet/testing";
import { ensureTopology, JobStore } from "@taskjet/nats";
import { initialState, namespace, parseJobInput } from "@taskjet/protocol";
import { TaskjetClient } from "@taskjet/client";
import { GatewayService } from "@taskjet/gateway";
import { summarize } from "./lib.mjs";
import { stopProcess } from "./stack.mjs";

const jobs = Number(process.env.JOBS ?? 100_000);
const repeat = Number(process.env.REPEAT ?? 5);
const chromiumPath = process.env.TASKJET_CHROMIUM ?? "/usr/bin/chromium";
const root = fileURLToPath(new URL("..", import.meta.url));
const TOKEN = "bench-dashboard-token";
const statuses = ["queuing", "queuing", "queuing", "paused", "stopped"];

async function fill(store, count) {
  const now = new Date().toISOString();
  const template = parseJobInput({ name: "x", type: "report", jobType: "period", cron: "0 0 3 1 1 ?" });
  let next = 0;
  const writer = async () => {
    while (next < count) {
      const i = next++;
      const def = {
        ...template,
        id: `job-${String(i).padStart(7, "0")}`,
        name: `customer export ${i}`,
        group: `g${i % 16}`,
        type: i % 3 === 0 ? "mail" : "report",
      };
      await store.create({ def, state: { ...initialState(now), status: statuses[i % 5] } });
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 512 }, writer));
  return performance.now() - t0;
}

const nats = await startNats();
const prefix = uniqueName("dash");
const nc = await connectTo(nats.url);
const topo = await ensureTopology(nc, namespace(prefix));
const fillMs = await fill(new JobStore(topo.jobs, namespace(prefix)), jobs);

const scheduler = spawn(process.execPath, ["--max-old-space-size=4096", "services/scheduler/dist/main.js"], {
  cwd: root,
  env: { ...process.env, NATS_URL: nats.url, TASKJET_PREFIX: prefix, LOG_LEVEL: "warn" },
  stdio: ["ignore", "ignore", "inherit"],
});
const client = await TaskjetClient.connect({ servers: [nats.url], prefix, requestTimeoutMs: 60_000 });
await waitFor(async () => (await client.scheduler.status().catch(() => undefined))?.jobs.total === jobs, {
  timeoutMs: 300_000,
  message: `a scheduler leads with ${jobs} jobs loaded`,
});
const gateway = new GatewayService({
  nats: { servers: [nats.url], prefix },
  port: 0,
  host: "127.0.0.1",
  tokens: [TOKEN],
  requestTimeoutMs: 60_000,
  env: {},
});
const base = (await gateway.start()).url;

async function apiMs(query) {
  const t0 = performance.now();
  const r = await fetch(`${base}/v1/jobs?${query}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const body = await r.json();
  if (!r.ok) throw new Error(`GET /v1/jobs?${query}: ${JSON.stringify(body)}`);
  return { ms: performance.now() - t0, total: body.total, n: body.jobs.length };
}
const apiQueries = {
  first: "limit=50&offset=0",
  middle: `limit=50&offset=${Math.floor(jobs / 2)}`,
  last: `limit=50&offset=${jobs - 50}`,
  group: "limit=50&group=g3",
  status: "limit=50&status=paused",
  name: "limit=50&name=export%20777",
};
const api = {};
for (const [label, q] of Object.entries(apiQueries)) {
  const runs = [];
  let total = 0;
  for (let i = 0; i < repeat; i++) {
    const r = await apiMs(q);
    runs.push(r.ms);
    total = r.total;
  }
  api[label] = { total, ...summarize(runs) };
}

// the page: sign in, then watch for the Jobs table's rows
const profile = mkdtempSync(join(tmpdir(), "taskjet-bench-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: chromiumPath,
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const page = await context.newPage();
await page.goto(`${base}/dashboard/`);
await page.getByLabel("Token").fill(TOKEN);
await page.getByRole("button", { name: "Sign in" }).click();
await page.getByRole("heading", { name: "Overview", level: 1 }).waitFor();

/** Resolves in the page to the time of the first frame whose table has rows other than `notFirst`. */
const watchRows = (notFirst) =>
  page.evaluate((skip) => {
    globalThis.__rowsAt = undefined;
    const check = () => {
      const first = document.querySelector("tbody tr[data-job-id]");
      if (!first || first.getAttribute("data-job-id") === skip) return false;
      requestAnimationFrame(() => (globalThis.__rowsAt = performance.now()));
      return true;
    };
    if (check()) return;
    const mo = new MutationObserver(() => check() && mo.disconnect());
    mo.observe(document.body, { childList: true, subtree: true });
  }, notFirst);
const rowsAt = () =>
  page.waitForFunction(() => globalThis.__rowsAt).then(() => page.evaluate(() => globalThis.__rowsAt));
const lastListEnd = () =>
  page.evaluate(() => {
    const e = performance
      .getEntriesByType("resource")
      .filter((r) => r.name.includes("/v1/jobs?"))
      .at(-1);
    return { responseEnd: e.responseEnd, requestMs: e.responseEnd - e.startTime };
  });

const render = [];
const request = [];
const click = [];
for (let i = 0; i < repeat; i++) {
  await page.evaluate(() => ((globalThis.location.hash = "#/"), performance.clearResourceTimings()));
  await page.getByRole("heading", { name: "Overview", level: 1 }).waitFor();
  await watchRows(null);
  await page.evaluate(() => (globalThis.location.hash = "#/jobs"));
  const shown = await rowsAt();
  const { responseEnd, requestMs } = await lastListEnd();
  render.push(shown - responseEnd);
  request.push(requestMs);
  // the next page
  const firstId = await page.locator("tbody tr[data-job-id]").first().getAttribute("data-job-id");
  await watchRows(firstId);
  const t0 = await page.evaluate(() => performance.now());
  await page.getByRole("button", { name: "Next" }).click();
  click.push((await rowsAt()) - t0);
}
const rows = await page.locator("tbody tr[data-job-id]").count();

const out = {
  bench: "dashboard-jobs",
  jobs,
  repeat,
  fillMs: Math.round(fillMs),
  machine: {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  },
  chromium: context.browser()?.version() ?? "(persistent context)",
  rowsShown: rows,
  api,
  page: {
    renderAfterDataMs: summarize(render),
    listRequestMs: summarize(request),
    nextPageClickMs: summarize(click),
  },
};
console.log(JSON.stringify(out));
await context.close();
rmSync(profile, { recursive: true, force: true });
await gateway.stop();
await client.close();
await nc.close();
await stopProcess(scheduler);
await nats.stop();
process.exit(0);
