/**
 * The dashboard's overview charts: every `sampleSeconds` one sample of the rates and lateness seen on the
 * tenant's events since the previous sample, in a ring that keeps the last hour (3600 / sampleSeconds
 * samples), so memory stays the same however long the gateway runs.
 *
 *   fires/s       `before` events of a fire's first attempt (fires that reached a worker)
 *   runs/s        `after` events (attempts that finished, either way)
 *   failure rate  `after` events with an error / `after` events (null when none finished)
 *   lateness      run start (`runTime` of `before`) minus the nominal fire time, p50 and p99 in ms
 *
 * Lateness values of one interval are kept in a reservoir of at most MAX_LATENESS_VALUES (a uniform sample
 * past that), so a burst cannot grow it either.
 */
import type { EventSubscription, JobEvent, TaskjetClient } from "@taskjet/client";
import type { OverviewSample } from "@taskjet/protocol";

const MAX_LATENESS_VALUES = 4096;

export class OverviewSampler {
  readonly capacity: number;
  private readonly ring: OverviewSample[] = [];
  private sub: EventSubscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private intervalStart = Date.now();
  private fires = 0;
  private runs = 0;
  private failures = 0;
  private seen = 0;
  private lateness: number[] = [];

  constructor(
    private readonly client: TaskjetClient,
    readonly sampleSeconds: number,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    this.capacity = Math.ceil(3600 / sampleSeconds);
  }

  start(): void {
    if (this.sub) return;
    this.intervalStart = Date.now();
    this.sub = this.client.events.on(
      { phases: ["before", "after"] },
      (e) => this.record(e),
      (err) => this.onError(err),
    );
    this.timer = setInterval(() => this.sample(), this.sampleSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const sub = this.sub;
    this.sub = undefined;
    await sub?.close();
  }

  /** The samples of the last hour, oldest first. */
  samples(): OverviewSample[] {
    return [...this.ring];
  }

  record(e: JobEvent): void {
    if (e.phase === "before") {
      if (e.data.attempt === 1) this.fires++;
      const started = e.data.runTime ? Date.parse(e.data.runTime) : Date.parse(e.time);
      const nominal = Date.parse(e.data.nominalTime);
      if (Number.isFinite(started) && Number.isFinite(nominal)) this.addLateness(started - nominal);
    } else if (e.phase === "after") {
      this.runs++;
      if (e.data.error !== undefined) this.failures++;
    }
  }

  /** Closes the current interval into a sample (called by the timer; tests may call it). */
  sample(now = Date.now()): OverviewSample {
    const seconds = Math.max((now - this.intervalStart) / 1000, 0.001);
    const sorted = this.lateness.sort((a, b) => a - b);
    const s: OverviewSample = {
      at: new Date(now).toISOString(),
      firesPerSecond: round(this.fires / seconds),
      runsPerSecond: round(this.runs / seconds),
      failureRate: this.runs === 0 ? null : round(this.failures / this.runs),
      latenessP50Ms: quantile(sorted, 0.5),
      latenessP99Ms: quantile(sorted, 0.99),
    };
    this.ring.push(s);
    if (this.ring.length > this.capacity) this.ring.shift();
    this.intervalStart = now;
    this.fires = this.runs = this.failures = this.seen = 0;
    this.lateness = [];
    return s;
  }

  private addLateness(ms: number): void {
    this.seen++;
    if (this.lateness.length < MAX_LATENESS_VALUES) {
      this.lateness.push(ms);
      return;
    }
    // reservoir sampling: each value seen so far stays with the same chance
    const j = Math.floor(Math.random() * this.seen);
    if (j < MAX_LATENESS_VALUES) this.lateness[j] = ms;
  }
}

function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? null;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
