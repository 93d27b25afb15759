/**
 * The dashboard's bundle budget: everything the page loads (its scripts and styles, all bundled, nothing
 * from a CDN) is at most 200 KB gzipped. Reads the build output (`npx turbo run build` first, as `npm test`
 * does).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";

const dist = fileURLToPath(new URL("../dist/", import.meta.url));
const BUDGET_BYTES = 200 * 1024;

describe("dashboard bundle", () => {
  it("is built, loads nothing from another origin, and stays within 200 KB gzipped", () => {
    expect(existsSync(join(dist, "index.html")), "services/dashboard/dist: run npx turbo run build").toBe(
      true,
    );
    const html = readFileSync(join(dist, "index.html"), "utf8");
    // every script and stylesheet the page names is one of its own files
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.filter((r) => /^(https?:)?\/\//.test(r))).toEqual([]);
    const assets = readdirSync(join(dist, "assets"));
    expect(assets.some((f) => f.endsWith(".js"))).toBe(true);
    let gzipped = gzipSync(html).length;
    for (const f of assets) {
      const text = readFileSync(join(dist, "assets", f));
      gzipped += gzipSync(text, { level: 9 }).length;
      if (f.endsWith(".js") || f.endsWith(".css")) {
        expect(text.toString("utf8"), `${f} fetches from a CDN`).not.toMatch(/https:\/\/(cdn|unpkg|esm\.sh)/);
      }
    }
    console.log(`dashboard bundle: ${(gzipped / 1024).toFixed(1)} KB gzipped (budget 200 KB)`);
    expect(gzipped).toBeLessThanOrEqual(BUDGET_BYTES);
  });
});
