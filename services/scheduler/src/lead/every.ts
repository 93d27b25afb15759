/**
 * A task run every `intervalMs` while started: the leader's and every replica's background duties
 * (cursor, heartbeat, clock check, reaper, retention). start and stop are idempotent, and the timer never
 * keeps the process alive. The task handles its own errors.
 */
export class Every {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly task: () => unknown,
  ) {}

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.task(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
