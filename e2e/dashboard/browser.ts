/**
 * Debian's Chromium (`apt-get install chromium`, .ci/run installs it) driven by playwright-core: headless,
 * no sandbox (CI runs as root), nothing of the browser's own networking (no background fetches, no QUIC,
 * no component or sync updates), a fresh profile in a temp dir per launch.
 *
 * Without the browser the dashboard's tests fail and say how to get it, unless TASKJET_SKIP_BROWSER_TESTS=1
 * says to skip them (then they are skipped with the reason printed). TASKJET_CHROMIUM names another binary.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = process.env["TASKJET_CHROMIUM"] ?? "/usr/bin/chromium";
export const skipBrowserTests = process.env["TASKJET_SKIP_BROWSER_TESTS"] === "1";
if (skipBrowserTests) {
  console.log("dashboard browser tests skipped: TASKJET_SKIP_BROWSER_TESTS=1");
}

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface BrowserHandle {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launches the browser with a fresh profile; throws a clear error when it is not installed. */
export async function launchBrowser(viewport = { width: 1280, height: 800 }): Promise<BrowserHandle> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium; .ci/run does), ` +
        "set TASKJET_CHROMIUM to another binary, or set TASKJET_SKIP_BROWSER_TESTS=1 to skip the dashboard's " +
        "browser tests",
    );
  }
  const profile = mkdtempSync(join(tmpdir(), "taskjet-chromium-"));
  // a persistent context is how playwright takes a profile dir (it refuses --user-data-dir in args)
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Console errors and uncaught page errors of a page, collected from now on. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  return errors;
}

/**
 * The browser globals that `page.evaluate` callbacks use: they run in the page, but compile with the tests,
 * which have no DOM types (`const w = globalThis as unknown as PageGlobals`).
 */
export interface PageGlobals {
  document: {
    documentElement: { scrollWidth: number };
  };
  innerWidth: number;
  location: { hash: string };
  sessionStorage: { getItem(key: string): string | null };
  axe: { run(context: unknown, options: unknown): Promise<{ violations: unknown[] }> };
}

const axeSource = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/** axe-core (injected into the page) on the whole document: violations of impact serious or critical. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: axeSource });
  const violations = await page.evaluate(async () => {
    const w = globalThis as unknown as PageGlobals;
    const r = await w.axe.run(w.document, { resultTypes: ["violations"] });
    return r.violations as {
      id: string;
      impact: string | null;
      help: string;
      nodes: { target: unknown[] }[];
    }[];
  });
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target })),
    }));
}
