/**
 * Whether this worker can still get a write through to the cluster (a quorum of the stream's replicas),
 * asked before fires held for their instant start (intake.ts).
 *
 * Why (issue 18): a worker cut off from the majority of a replicated cluster keeps the fires it had
 * prefetched and, at their instants, used to run them. Its acks and outcome writes could not get out, so
 * another worker ran the same fires again after the ack wait: 132 of the 140 duplicate runs of the
 * partition suite. A write that succeeded lately (an outcome write, a stored run-log entry, a registry
 * heartbeat) shows the way out was open then; when none did within `freshMs`, one registry heartbeat is
 * written as a probe, and held fires start only once it lands. If it does not land within `timeoutMs` they are handed back: another
 * worker runs them once (after the ack wait, when the hand-back cannot get out either).
 *
 * The window that remains is `freshMs` (the worker's: 50 ms) after the last write that got through.
 */
export class Reach {
  private confirmedAt = Number.NEGATIVE_INFINITY;
  private probing: Promise<boolean> | undefined;
  /** probes that did not land in time (for logs and tests) */
  failedProbes = 0;

  constructor(
    private readonly probe: () => Promise<unknown>,
    private readonly freshMs: number,
    private readonly timeoutMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A write that needed the cluster got through just now. */
  mark(): void {
    this.confirmedAt = this.now();
  }

  /**
   * `true` at once when a write got through within freshMs (the hot path: no promise); otherwise a promise
   * of the probe's verdict (one probe at a time, shared by every caller).
   */
  confirm(): true | Promise<boolean> {
    if (this.now() - this.confirmedAt <= this.freshMs) return true;
    return (this.probing ??= this.runProbe().finally(() => (this.probing = undefined)));
  }

  private async runProbe(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.timeoutMs);
    });
    const landed = this.probe().then(
      () => true,
      () => false,
    );
    try {
      const ok = await Promise.race([landed, timeout]);
      if (ok) this.mark();
      else this.failedProbes++;
      return ok;
    } finally {
      clearTimeout(timer);
    }
  }
}
