/**
 * The web dashboard in a real browser (Debian's Chromium through playwright-core, e2e/dashboard/browser.ts)
 * against a real stack (nats-server, scheduler, worker, gateway): every page loads without console errors
 * and without serious accessibility violations (axe-core), filters and search narrow the jobs table, each
 * action changes the job in the store (read back through the client, not the page), a queued job's events
 * show within 2 s, and a read-only token sees no action and is refused by the API.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { uniqueName, waitFor } from "@taskjet/testing";
import {
  collectErrors,
  launchBrowser,
  seriousViolations,
  skipBrowserTests,
  type BrowserHandle,
  type PageGlobals,
} from "./dashboard/browser.js";
import {
  FULL_TOKEN,
  READ_TOKEN,
  seedJobs,
  startDashboardStack,
  type DashboardStack,
} from "./dashboard/dashboardStack.js";

describe.skipIf(skipBrowserTests)("web dashboard in Chromium", () => {
  let ds: DashboardStack;
  let browser: BrowserHandle;

  beforeAll(async () => {
    ds = await startDashboardStack();
    await seedJobs(ds.stack);
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await ds?.stop();
  });

  /** A new tab (its own sessionStorage) signed in with `token`, showing the overview. */
  async function signedIn(token: string): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.context.newPage();
    const errors = collectErrors(page);
    await page.goto(`${ds.url}/dashboard/`);
    await page.getByLabel("Token").fill(token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Overview", level: 1 }).waitFor();
    return { page, errors };
  }

  /** The elements that stick out of the screen, outside any box that scrolls (for a failed width check). */
  const widest = (page: Page): Promise<string> =>
    page.evaluate(`(() => {
      const clipped = (e) => {
        for (let p = e.parentElement; p; p = p.parentElement) {
          if (getComputedStyle(p).overflowX !== "visible") return true;
        }
        return false;
      };
      return Array.from(document.querySelectorAll("body *"))
        .filter((e) => e.getBoundingClientRect().right > innerWidth && !clipped(e))
        .slice(0, 5)
        .map((e) => e.tagName.toLowerCase() + "." + e.className + " in " +
          (e.parentElement ? e.parentElement.tagName.toLowerCase() + "." + e.parentElement.className : "") +
          " " + Math.round(e.getBoundingClientRect().right) + "px")
        .join(", ");
    })()`);

  const open = async (page: Page, hash: string) => {
    await page.evaluate((h) => {
      (globalThis as unknown as PageGlobals).location.hash = h;
    }, hash);
  };
  const jobRows = (page: Page) => page.locator("tbody tr[data-job-id]");
  const status = async (id: string) => (await ds.stack.client.scheduler.get(id)).status;

  it("every page loads with no console error and no serious accessibility violation", async () => {
    const { page, errors } = await signedIn(FULL_TOKEN);
    const pages: [string, () => Promise<void>][] = [
      ["#/", () => page.getByText("Workers per node and type").waitFor()],
      ["#/jobs", () => jobRows(page).first().waitFor()],
      [
        "#/jobs/monthly-report",
        () => page.getByRole("list", { name: "next fire times" }).locator("li").first().waitFor(),
      ],
      ["#/dead-letters", () => page.locator("tr[data-seq]").first().waitFor()],
      ["#/events", () => page.getByText(/listening/).waitFor()],
      ["#/queue", () => page.getByText("matches the job schema").waitFor()],
    ];
    for (const [hash, loaded] of pages) {
      await open(page, hash);
      await loaded();
      expect(await seriousViolations(page), `axe on ${hash}`).toEqual([]);
    }
    // the monthly Berlin job's next 10 fires cross a DST change, and the page marks it
    await open(page, "#/jobs/monthly-report");
    await page.locator(".dst").first().waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });

  it("works on a phone-width screen: no page scrolls sideways", async () => {
    const { page, errors } = await signedIn(FULL_TOKEN);
    await page.setViewportSize({ width: 390, height: 844 });
    for (const hash of ["#/", "#/jobs", "#/jobs/monthly-report", "#/dead-letters", "#/events", "#/queue"]) {
      await open(page, hash);
      await page.locator("main h1").waitFor();
      const overflow = () =>
        page.evaluate(() => {
          const w = globalThis as unknown as PageGlobals;
          return w.document.documentElement.scrollWidth - w.innerWidth;
        });
      await expect
        .poll(overflow, { timeout: 5_000 })
        .toBeLessThanOrEqual(0)
        .catch(async (err: unknown) => {
          throw new Error(`${hash} is wider than the screen; furthest right: ${await widest(page)}`, {
            cause: err,
          });
        });
    }
    expect(errors).toEqual([]);
    await page.close();
  });

  it("filters and search narrow the jobs table", async () => {
    const { page } = await signedIn(FULL_TOKEN);
    await open(page, "#/jobs");
    await jobRows(page).first().waitFor();
    const all = await jobRows(page).count();
    expect(all).toBeGreaterThanOrEqual(18);

    await page.getByLabel("Group").fill("billing");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect.poll(() => jobRows(page).count()).toBe(2);
    expect(
      await jobRows(page).evaluateAll((rs) => rs.map((r) => r.getAttribute("data-job-id")).sort()),
    ).toEqual(["invoice-run", "monthly-report"]);

    await page.getByRole("button", { name: "Clear" }).click();
    await expect.poll(() => jobRows(page).count()).toBe(all);
    await page.getByLabel("Status").selectOption("paused");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect
      .poll(() => jobRows(page).evaluateAll((rs) => rs.map((r) => r.getAttribute("data-job-id")).sort()))
      .toEqual(["export-03", "export-04"]);

    await page.getByRole("button", { name: "Clear" }).click();
    await page.getByLabel("Search id or name").fill("customer export 1");
    await page.getByRole("button", { name: "Apply" }).click();
    // names containing "customer export 1": 1, 10, 11, 12
    await expect.poll(() => jobRows(page).count()).toBe(4);

    await page.getByLabel("Search id or name").fill("welcome-mail");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect
      .poll(() => jobRows(page).evaluateAll((rs) => rs.map((r) => r.getAttribute("data-job-id"))))
      .toEqual(["welcome-mail"]);

    await page.getByRole("button", { name: "Clear" }).click();
    await page.getByLabel("Job type").selectOption("once");
    await page.getByLabel("Type", { exact: true }).fill("echo");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect
      .poll(() => jobRows(page).evaluateAll((rs) => rs.map((r) => r.getAttribute("data-job-id"))))
      .toEqual(["welcome-mail"]);
    await page.close();
  });

  it("each action changes the job in the store", async () => {
    const { page, errors } = await signedIn(FULL_TOKEN);
    page.on("dialog", (d) => void d.accept());
    const id = uniqueName("act");
    await ds.stack.client.scheduler.queue({
      id,
      name: `actions ${id}`,
      group: "actions",
      type: "echo",
      jobType: "period",
      cron: "0 0 4 * * ?",
    });
    await open(page, `#/jobs/${id}`);
    const button = (name: string) =>
      page.getByRole("toolbar", { name: "job actions" }).getByRole("button", { name });

    await button("Pause").click();
    await expect.poll(() => status(id)).toBe("paused");
    await button("Resume").click();
    await expect.poll(() => status(id)).toBe("queuing");
    await button("Stop").click();
    await expect.poll(() => status(id)).toBe("stopped");
    await button("Start").click();
    await expect.poll(() => status(id)).toBe("queuing");

    const runsBefore = (await ds.stack.client.scheduler.logs(id)).length;
    await button("Trigger now").click();
    await expect
      .poll(
        async () =>
          (await ds.stack.client.scheduler.logs(id)).filter((e) => e.outcome === "succeeded").length,
      )
      .toBeGreaterThan(0);
    expect((await ds.stack.client.scheduler.logs(id)).length).toBeGreaterThan(runsBefore);

    // the cron, edited with its live preview
    const cron = page.getByLabel(/^Cron/);
    await cron.fill("0 15 6 ? * MON-FRI");
    await expect
      .poll(() => page.getByRole("list", { name: "next fire times" }).locator("li").first().textContent())
      .toMatch(/ 06:15:00/);
    await page.getByRole("button", { name: "Save cron" }).click();
    await expect.poll(async () => (await ds.stack.client.scheduler.get(id)).cron).toBe("0 15 6 ? * MON-FRI");
    // the page reads the job back after saving: wait for that before typing again
    await page.locator("dl.kv").getByText("0 15 6 ? * MON-FRI", { exact: false }).waitFor();
    await cron.fill("0 61 * * * ?");
    await page.getByRole("alert").filter({ hasText: "INVALID_ARGUMENT (cron)" }).waitFor();
    expect(await page.getByRole("button", { name: "Save cron" }).isDisabled()).toBe(true);

    await button("Remove").click();
    await expect.poll(() => ds.stack.client.scheduler.exists(id)).toBe(false);

    // bulk: pause two jobs from the table
    const a = uniqueName("bulk");
    const b = uniqueName("bulk");
    for (const x of [a, b]) {
      await ds.stack.client.scheduler.queue({
        id: x,
        name: x,
        group: "bulk",
        type: "echo",
        jobType: "period",
        cron: "0 0 5 * * ?",
      });
    }
    await open(page, "#/jobs?group=bulk");
    await expect.poll(() => jobRows(page).count()).toBe(2);
    await page.getByLabel("select every job on this page").check();
    await page
      .getByRole("toolbar", { name: "bulk actions on the selected jobs" })
      .getByRole("button", { name: "pause" })
      .click();
    await expect.poll(async () => [await status(a), await status(b)]).toEqual(["paused", "paused"]);

    // dead letters: requeue runs sync-crm again (it fails again: a new letter), discard removes a letter
    await open(page, "#/dead-letters");
    const row = page.locator("tr[data-seq]").filter({ hasText: "sync-crm" }).first();
    const seq = Number(await row.getAttribute("data-seq"));
    const logsBefore = (await ds.stack.client.scheduler.logs("sync-crm")).filter(
      (e) => e.outcome === "deadLettered",
    ).length;
    await row.getByRole("button", { name: "Requeue" }).click();
    await expect
      .poll(
        async () =>
          (await ds.stack.client.scheduler.logs("sync-crm")).filter((e) => e.outcome === "deadLettered")
            .length,
        {
          timeout: 15_000,
        },
      )
      .toBeGreaterThan(logsBefore);
    await page.locator(`tr[data-seq="${seq}"]`).waitFor({ state: "detached" });
    await page.reload();
    const newer = page.locator("tr[data-seq]").filter({ hasText: "sync-crm" }).first();
    const newerSeq = Number(await newer.getAttribute("data-seq"));
    expect(newerSeq).toBeGreaterThan(seq);
    await newer.getByRole("button", { name: "Discard" }).click();
    await page.locator(`tr[data-seq="${newerSeq}"]`).waitFor({ state: "detached" });
    const left = await fetch(`${ds.url}/v1/dead-letters/${newerSeq}`, {
      headers: { authorization: `Bearer ${FULL_TOKEN}` },
    });
    expect(left.status).toBe(404);

    // queue a job through the JSON editor: field errors first, then a job in the store
    await open(page, "#/queue");
    const editor = page.getByLabel(/^Job \(JSON/);
    await editor.fill(JSON.stringify({ name: "from the editor", jobType: "sometimes", cron: 5 }));
    const problems = page.getByRole("list", { name: "problems in the job" });
    await problems.getByText("type is required").waitFor();
    await problems.getByText(/^jobType: must be one of/).waitFor();
    await problems.getByText("cron: must be a string").waitFor();
    const queuedId = uniqueName("ui");
    await editor.fill(
      JSON.stringify({ id: queuedId, name: "from the editor", type: "echo", args: { n: 1 } }),
    );
    await page.getByRole("button", { name: "Queue job" }).click();
    await page
      .getByRole("status")
      .filter({ hasText: `Queued ${queuedId}` })
      .waitFor();
    expect(await ds.stack.client.scheduler.exists(queuedId)).toBe(true);
    expect(errors.filter((e) => !e.includes("the server responded with a status of 400"))).toEqual([]);
    await page.close();
  });

  it("a queued job's live events show within 2 s", async () => {
    const { page } = await signedIn(FULL_TOKEN);
    await open(page, "#/events");
    await page.getByText(/listening/).waitFor();
    const id = uniqueName("live");
    const queuedAt = Date.now();
    await ds.stack.client.scheduler.queue({ id, name: id, group: "live", type: "echo" });
    // the promise: within 2 s of the queue reply (a deadline, not a speed measurement)
    await page
      .locator(`tr[data-job-id="${id}"][data-phase="after"]`)
      .waitFor({ timeout: 2_000 - (Date.now() - queuedAt) });
    await page.locator(`tr[data-job-id="${id}"][data-phase="before"]`).waitFor({ timeout: 100 });

    // the job's own page follows it too
    await open(page, `#/jobs/${id}`);
    await page.getByTestId("live-state").filter({ hasText: "listening" }).waitFor();
    const triggeredAt = Date.now();
    await ds.stack.client.scheduler.trigger(id);
    await page
      .getByRole("list", { name: "live events of this job" })
      .locator('li[data-phase="after"]')
      .waitFor({ timeout: 2_000 - (Date.now() - triggeredAt) });
    await page.close();
  });

  it("a read-only token sees no action and the API refuses it", async () => {
    // a dead letter of its own (the actions test requeues and discards the seeded one)
    const failing = uniqueName("ro");
    await ds.stack.client.scheduler.queue({ id: failing, name: failing, type: "boom", maxTryCount: 1 });
    await waitFor(async () => (await ds.stack.client.scheduler.get(failing)).isAbandoned, {
      timeoutMs: 20_000,
      message: `${failing} dead-lettered`,
    });
    const { page, errors } = await signedIn(READ_TOKEN);
    await page.getByText("read-only").first().waitFor();
    await open(page, "#/jobs");
    await jobRows(page).first().waitFor();
    expect(await page.getByRole("toolbar", { name: "bulk actions on the selected jobs" }).count()).toBe(0);
    expect(await page.locator("tbody input[type=checkbox]").count()).toBe(0);
    await open(page, "#/jobs/heartbeat");
    await page.getByRole("heading", { name: /heartbeat/ }).waitFor();
    expect(await page.getByRole("toolbar", { name: "job actions" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Save cron" }).count()).toBe(0);
    await open(page, "#/dead-letters");
    await page.locator("tr[data-seq]").first().waitFor();
    expect(await page.getByRole("button", { name: "Requeue" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Discard" }).count()).toBe(0);
    await open(page, "#/queue");
    await page.getByText("This token is read-only").waitFor();
    expect(errors).toEqual([]);

    // the same token from the page's own session, straight at the API
    const refused = await page.evaluate(async () => {
      const token = (globalThis as unknown as PageGlobals).sessionStorage.getItem("taskjet.token");
      const r = await fetch("/v1/jobs/heartbeat/pause", {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      });
      return { status: r.status, body: (await r.json()) as { error: { code: string } } };
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("PERMISSION_DENIED");
    expect(await status("heartbeat")).toBe("queuing");
    await page.close();
  });

  it("a wrong token is refused at sign-in and nothing is kept", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${ds.url}/dashboard/`);
    await page.getByLabel("Token").fill("not-the-right-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "UNAUTHENTICATED" }).waitFor();
    expect(
      await page.evaluate(() =>
        (globalThis as unknown as PageGlobals).sessionStorage.getItem("taskjet.token"),
      ),
    ).toBeNull();
    await page.close();
  });
});
