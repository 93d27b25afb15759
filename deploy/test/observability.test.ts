// deploy/observability as committed: the Grafana dashboard and the Prometheus alert rules name only metrics a
// running scheduler, worker and gateway expose (read from their /metrics text while a job runs), and every
// PromQL expression in them parses (Prometheus' own grammar, @prometheus-io/lezer-promql).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parser } from "@prometheus-io/lezer-promql";
import { startStack, type Stack } from "@taskjet/test-stack";
import { schedulerMetrics } from "@taskjet/scheduler";
import { workerMetrics } from "@taskjet/worker";
import { buildApp } from "@taskjet/gateway";
import { waitFor } from "@taskjet/testing";
import { repoRoot } from "./manifests.js";

const dir = join(repoRoot, "deploy/observability");
const rules = parse(readFileSync(join(dir, "prometheus-rules.yaml"), "utf8")) as {
  groups: { name: string; rules: { alert: string; expr: string; for?: string }[] }[];
};
const dashboard = JSON.parse(readFileSync(join(dir, "grafana-dashboard.json"), "utf8")) as {
  panels: { title: string; targets: { expr: string }[] }[];
};
const expressions = [
  ...rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }))),
  ...dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
];

/** Metric names in a PromQL expression (identifiers starting with taskjet_). */
const metricsIn = (expr: string) => [...expr.matchAll(/\btaskjet_[a-z_]+/g)].map((m) => m[0]);

/** Series names a /metrics text exposes: each family, plus _bucket/_sum/_count of histograms. */
function exposed(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    out.add(m[1]!);
    if (m[2] === "histogram") for (const s of ["_bucket", "_sum", "_count"]) out.add(m[1]! + s);
  }
  return out;
}

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    worker: true,
    register: (w) => w.register("obs", async () => "ok"),
  });
}, 60_000);
afterAll(() => stack?.stop());

describe("deploy/observability", () => {
  it("has alerts for no leader, lateness, dead letters, backlog, clock skew and a missing worker", () => {
    const names = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(names).toEqual(
      expect.arrayContaining([
        "TaskjetNoLeader",
        "TaskjetFireLatenessHigh",
        "TaskjetDeadLettersGrowing",
        "TaskjetBacklogGrowing",
        "TaskjetClockSkew",
        "TaskjetWorkerMissing",
      ]),
    );
  });

  it("every PromQL expression of the dashboard and the rules parses", () => {
    const bad: string[] = [];
    for (const { where, expr } of expressions) {
      let errors = 0;
      parser.parse(expr).iterate({
        enter: (n) => {
          if (n.type.isError) errors++;
        },
      });
      if (errors > 0) bad.push(`${where}: ${expr}`);
    }
    // the grammar is no no-op: a broken expression is found
    let control = 0;
    parser.parse("sum(rate(taskjet_worker_runs_total[5m]) by").iterate({
      enter: (n) => void (n.type.isError && control++),
    });
    expect(control).toBeGreaterThan(0);
    expect(bad).toEqual([]);
  });

  it("every metric they name is exposed by a running scheduler, worker or gateway", async () => {
    await stack.client.scheduler.queue({ id: "obs-1", name: "obs", type: "obs" });
    await waitFor(async () => (await stack.client.scheduler.get("obs-1")).status === "completed", {
      message: "a job ran",
    });
    const app = buildApp({ client: stack.client, settings: { tokens: [], bodyLimitBytes: 1 << 20 } });
    try {
      const texts = [
        await schedulerMetrics(stack.scheduler).metrics(),
        await workerMetrics(stack.worker!).metrics(),
        (await app.inject({ method: "GET", url: "/metrics" })).body,
      ];
      const all = new Set(texts.flatMap((t) => [...exposed(t)]));
      const named = new Set(expressions.flatMap((e) => metricsIn(e.expr)));
      expect(named.size).toBeGreaterThan(15);
      expect([...named].filter((n) => !all.has(n))).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
