/**
 * `npm run dashboard:screenshots`: the dashboard's pages on a real stack with seeded jobs (dashboardStack.ts),
 * photographed into docs/dashboard/*.png for docs/dashboard.md, at 1280x800 and at phone width. The
 * overview waits for about a minute of samples so its charts have lines.
 */
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, it } from "vitest";
import type { Page } from "playwright-core";
import { waitFor } from "@taskjet/testing";
import { launchBrowser, type BrowserHandle, type PageGlobals } from "./browser.js";
import {
  FULL_TOKEN,
  READ_TOKEN,
  seedJobs,
  startDashboardStack,
  type DashboardStack,
} from "./dashboardStack.js";

const out = fileURLToPath(new URL("../../docs/dashboard/", import.meta.url));
const SAMPLE_SECONDS = 3;

let ds: DashboardStack;
let browser: BrowserHandle;

beforeAll(async () => {
  mkdirSync(out, { recursive: true });
  ds = await startDashboardStack({ sampleSeconds: SAMPLE_SECONDS });
  await seedJobs(ds.stack);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await ds?.stop();
});

async function signIn(token: string): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(`${ds.url}/dashboard/`);
  await page.getByLabel("Token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Overview", level: 1 }).waitFor();
  return page;
}

const open = (page: Page, hash: string) =>
  page.evaluate((h) => {
    (globalThis as unknown as PageGlobals).location.hash = h;
  }, hash);

const shot = (page: Page, name: string, fullPage = false) =>
  page.screenshot({ path: `${out}${name}.png`, fullPage });

it("photographs every page", async () => {
  const signin = await browser.context.newPage();
  await signin.goto(`${ds.url}/dashboard/`);
  await signin.getByLabel("Token").waitFor();
  await shot(signin, "sign-in");
  await signin.close();

  const page = await signIn(FULL_TOKEN);
  const s = ds.stack.client.scheduler;
  // some history for the run log and the charts: the monthly report run a few times by hand
  for (let i = 0; i < 3; i++) await s.trigger("monthly-report");
  // a minute of samples (heartbeat every 2 s, the report triggers, a failing job)
  await waitFor(
    async () => {
      const r = await fetch(`${ds.url}/v1/dashboard/overview`, {
        headers: { authorization: `Bearer ${FULL_TOKEN}` },
      });
      return ((await r.json()) as { samples: unknown[] }).samples.length >= 20;
    },
    { timeoutMs: 120_000, message: "20 overview samples" },
  );
  await open(page, "#/");
  await page.locator(".chart canvas").first().waitFor();
  await page.waitForTimeout(500); // the charts draw on the next frame
  await shot(page, "overview", true);

  await open(page, "#/jobs");
  await page.locator("tbody tr[data-job-id]").first().waitFor();
  await shot(page, "jobs");
  await open(page, "#/jobs?group=billing");
  await page.locator("tbody tr[data-job-id]").nth(1).waitFor();
  await page.getByLabel("select every job on this page").check();
  await shot(page, "jobs-filtered");

  await open(page, "#/jobs/monthly-report");
  await page.locator(".dst").first().waitFor();
  await page.getByTestId("live-state").filter({ hasText: "listening" }).waitFor();
  await s.trigger("monthly-report");
  await page.locator('ul.events li[data-phase="after"]').first().waitFor();
  await page.getByLabel(/^Cron/).fill("0 0 9 1W * ?");
  await page.getByRole("list", { name: "next fire times" }).locator("li").nth(9).waitFor();
  await page.waitForTimeout(400);
  await shot(page, "job-detail", true);

  await open(page, "#/dead-letters");
  const row = page.locator("tr[data-seq]").first();
  await row.waitFor();
  await row.getByRole("button", { name: "Inspect" }).click();
  await shot(page, "dead-letters");

  await open(page, "#/events");
  await page.getByText(/listening/).waitFor();
  await waitFor(async () => (await page.locator("tbody tr[data-job-id]").count()) >= 8, {
    timeoutMs: 30_000,
    message: "eight events on the tail",
  });
  await shot(page, "events");

  await open(page, "#/queue");
  const editor = page.getByLabel(/^Job \(JSON/);
  await editor.fill(
    JSON.stringify(
      { name: "nightly cleanup", jobType: "period", cron: 15, timeZone: "Europe/Paris", args: {} },
      null,
      2,
    ),
  );
  await page.getByRole("list", { name: "problems in the job" }).waitFor();
  await shot(page, "queue-errors");
  await page.close();

  const ro = await signIn(READ_TOKEN);
  await open(ro, "#/jobs/heartbeat");
  await ro.locator("ul.events li").first().waitFor();
  await shot(ro, "job-detail-read-only");
  await ro.close();

  const phone = await signIn(FULL_TOKEN);
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.locator(".chart canvas").first().waitFor();
  await phone.waitForTimeout(500);
  await shot(phone, "phone-overview");
  await open(phone, "#/jobs");
  await phone.locator("tbody tr[data-job-id]").first().waitFor();
  await shot(phone, "phone-jobs");
  await phone.close();
});
