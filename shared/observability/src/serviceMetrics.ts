/**
 * What the services' metrics share: a registry of their own with the process metrics, the lateness buckets,
 * and gauges read at scrape time for values a service holds anyway (runs in progress, the leader flag, the
 * run backlog): nothing is pushed on each change, and a listener registered late cannot miss the event that
 * set it. A labelled one is refilled at each scrape, so a label that went away (a drained backlog, a peer
 * that left) is dropped instead of reporting its last value forever.
 */
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";

/** A registry of a service's own (several services may share a process in tests), with Node's process metrics. */
export function serviceRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Buckets (seconds) of every lateness histogram: the scheduler's publish lateness and the worker's start
 * lateness are measured against the same nominal time, so one dashboard can set them side by side.
 */
export const LATENESS_BUCKETS_SECONDS: readonly number[] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15, 60];

/** A gauge whose value `read` gives at each scrape. */
export function readGauge(registry: Registry, name: string, help: string, read: () => number): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** One value of a labelled gauge: its labels and the value. */
export type GaugeRow<L extends string> = readonly [labels: Partial<Record<L, string>>, value: number];

/** A labelled gauge refilled at each scrape with the rows `read` gives (reset only once they are read). */
export function readLabelledGauge<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => Iterable<GaugeRow<L>> | Promise<Iterable<GaugeRow<L>>>,
): Gauge<L> {
  return new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      const rows = await read();
      this.reset();
      for (const [labels, value] of rows) this.set(labels, value);
    },
  });
}
