// Scrape-time gauges (serviceMetrics.ts): the value is what `read` says when scraped, and a labelled gauge
// drops a label that went away instead of repeating its last value.
import { describe, expect, it } from "vitest";
import { readGauge, readLabelledGauge, serviceRegistry } from "@taskjet/observability";

describe("scrape-time gauges", () => {
  it("a gauge reads its value at each scrape", async () => {
    const registry = serviceRegistry();
    let running = 2;
    readGauge(registry, "taskjet_test_running", "runs", () => running);
    expect(await registry.metrics()).toContain("taskjet_test_running 2");
    running = 0;
    expect(await registry.metrics()).toContain("taskjet_test_running 0");
    // the registry carries the process's default metrics too
    expect(await registry.metrics()).toContain("process_cpu_user_seconds_total");
  });

  it("a labelled gauge is refilled at each scrape: a label that went away is dropped", async () => {
    const registry = serviceRegistry();
    let rows: [string, number][] = [
      ["a", 3],
      ["b", 1],
    ];
    readLabelledGauge(registry, "taskjet_test_backlog", "backlog", ["type"], async () =>
      rows.map(([type, n]) => [{ type }, n] as const),
    );
    let text = await registry.metrics();
    expect(text).toContain('taskjet_test_backlog{type="a"} 3');
    expect(text).toContain('taskjet_test_backlog{type="b"} 1');
    rows = [["a", 0]];
    text = await registry.metrics();
    expect(text).toContain('taskjet_test_backlog{type="a"} 0');
    expect(text).not.toContain('type="b"');
  });
});
