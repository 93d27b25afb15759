/**
 * Differential test of the quartz dialect against Quartz itself: Quartz 2.3.2's CronExpression (Debian's
 * libquartz2-java, run by quartz/QuartzReference.java) and taskjet (`quartz` DST rule) answer the same
 * corpus (quartz/corpus.ts: every construct of the grammar, the seed's strings, the tutorial's examples,
 * three zones, every 2026 DST change). Both must reject the same expressions and give the same fire times,
 * unless the expression is a documented difference (quartz/differences.ts, docs/scheduler.md).
 *
 * Skipped, with the reason printed, only when there is no java outside CI; .ci/run installs java's Quartz,
 * so under CI (the CI variable set) a missing java is a failure. A missing Quartz jar where java exists is a failure, not a skip.
 */
import { describe, expect, it } from "vitest";
import { buildCorpus, seedStrings, type Case } from "./quartz/corpus.js";
import { documentedDifferences } from "./quartz/differences.js";
import { findJava, findQuartzJar, runQuartz, runTaskjet, type Outcome } from "./quartz/reference.js";

const java = findJava();
if (!java && process.env["CI"])
  throw new Error("CI needs java for the quartz differential test (.ci/run installs it)");
if (!java) console.log("quartz differential test skipped: no java on PATH (.ci/run installs it)");

function same(a: Outcome, b: Outcome): boolean {
  if (a.kind === "ok" && b.kind === "ok") return a.fires.join() === b.fires.join();
  return a.kind === "err" && b.kind === "err";
}

function show(o: Outcome): string {
  if (o.kind === "hang") return "loops forever";
  if (o.kind === "err") return `rejects: ${o.message}`;
  return o.fires.map((t) => new Date(t).toISOString()).join(" ") || "(no fire)";
}

describe.skipIf(!java)("quartz dialect vs Quartz 2.3.2", () => {
  it("agrees on every case of the corpus, or the difference is documented", { timeout: 180_000 }, () => {
    const jar = findQuartzJar();
    expect(jar, "Quartz jar not found: apt-get install libquartz2-java, or set QUARTZ_JAR").toBeDefined();
    const cases = buildCorpus();
    const quartz = runQuartz(java!, jar!, cases);

    let agreements = 0;
    let documented = 0;
    const undocumented: string[] = [];
    const seen = new Set<string>();
    const describeCase = (c: Case, q: Outcome, t: Outcome) =>
      `"${c.expression}" in ${c.zone} after ${new Date(c.afterMs).toISOString()}\n  quartz:  ${show(q)}\n  taskjet: ${show(t)}`;
    for (const c of cases) {
      const q = quartz.get(c.id)!;
      const t = runTaskjet(c);
      if (same(q, t)) {
        agreements++;
        continue;
      }
      const known = documentedDifferences[c.expression];
      const kind = t.kind === "err" ? "taskjet-rejects" : q.kind === "hang" ? "quartz-loops" : "fires-differ";
      if (known && known.kind === kind && q.kind !== "err") {
        documented++;
        seen.add(c.expression);
      } else {
        undocumented.push(describeCase(c, q, t));
      }
    }
    console.log(
      `quartz differential: ${cases.length} cases, ${agreements} agree, ${documented} documented differences ` +
        `(${seen.size} expressions), ${undocumented.length} undocumented`,
    );
    expect(undocumented.slice(0, 20).join("\n")).toBe("");
    // a listed difference that no longer shows must leave the list (and docs/scheduler.md)
    expect(Object.keys(documentedDifferences).filter((e) => !seen.has(e))).toEqual([]);
    // the seed's strings are never a difference
    for (const s of seedStrings) expect(seen.has(s)).toBe(false);
  });
});
