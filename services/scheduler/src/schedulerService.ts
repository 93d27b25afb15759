/**
 * SchedulerService: the front of the scheduler (the seed's IJobScheduler + IJobPublisher/IJobDispatcher,
 * made distributed), composed of role objects that each do one job:
 *
 *   JobIndex       the in-memory view of the job store, kept current by a KV watch (every replica)
 *   Ticker         the due heap and the firing loop (leader) / cursor following (followers)
 *   Dispatcher     publishes fires and interrupts;  SkipRecorder  records skipped fires
 *   Bookkeeper     the leader's compare-and-set store writes;  CursorKeeper  the global fire cursor
 *   Leadership     the lease;  ApiServer (JobCommands, LifecycleCommands)  the control API
 *   ReplicaHeartbeat, ClockSkewMonitor, Reaper
 *
 * start(): ensureTopology -> load the store (await the watch's initial snapshot) -> serve the API ->
 * campaign. stop(): stop the API, stop firing, let in-flight publishes finish, write the final cursor,
 * release the lease, close. Both are idempotent; a concurrent caller gets the same in-flight promise.
 */
import { hostname } from "node:os";
import { pino, type Logger } from "pino";
import type { BacklogEntry, FencedError, ReplicaInfo, SchedulerStatus } from "@taskjet/protocol";
import { assemble, type Running } from "./assembly.js";
import type { Role } from "./lead/leadership.js";
import type { JobIndex } from "./view/jobIndex.js";
import type { ReplicaHealth } from "./lead/replicaWatch.js";
import { resolveOptions, type ResolvedSchedulerOptions, type SchedulerOptions } from "./options.js";
import { newMetrics, ServiceEvents, type SchedulerMetrics } from "./serviceEvents.js";

/**
 * Pause before campaigning again after the n-th takeover failure in a row: one lease time, doubling, at most
 * 30 s, with jitter (0.5-1.5x) so replicas that failed together do not come back together.
 */
export function takeoverBackoffMs(n: number, leaseTtlMs: number, random = Math.random): number {
  const base = Math.min(leaseTtlMs * 2 ** Math.min(n - 1, 10), 30_000);
  return Math.round(base * (0.5 + random()));
}

export class SchedulerService {
  /** takeovers that failed in a row (reset by one that succeeds) */
  private takeoverFailures = 0;
  readonly options: ResolvedSchedulerOptions;
  readonly events = new ServiceEvents();
  readonly metrics: SchedulerMetrics = newMetrics();
  readonly log: Logger;
  private readonly input: SchedulerOptions;
  private readonly startedAt = new Date().toISOString();
  private running: Running | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private leaderGeneration = 0;
  private leaderSince: string | undefined;

  constructor(opts: SchedulerOptions = {}) {
    this.input = opts;
    this.options = resolveOptions(opts);
    this.log = (opts.logger ?? pino({ name: "taskjet-scheduler" })).child({
      replicaId: this.options.replicaId,
    });
    this.events.onListenerError = (err, event) => this.log.error({ err, event }, "an event listener threw");
  }

  get replicaId(): string {
    return this.options.replicaId;
  }

  /** leader (firing), follower (campaigning) or standby (serving the API only). */
  get role(): Role {
    const r = this.running;
    if (!r || !r.leadership.isCampaigning) return "standby";
    return r.ticker.isFiring ? "leader" : "follower";
  }

  isLeader(): boolean {
    return this.running?.ticker.isFiring ?? false;
  }

  /**
   * True while this replica leads and has settled everything due by its clock's current time: every such
   * fire published, acked and recorded, nothing in flight (the ticker's `idle`). A condition for tests to
   * wait on before asserting that something did not fire; false on followers.
   */
  isIdle(): boolean {
    return this.running?.ticker.idle ?? false;
  }

  /** The lease epoch this replica fires (or last fired) under; 0 before it ever led. */
  get epoch(): number {
    return this.running?.ticker.epoch ?? 0;
  }

  /** Starts (idempotent: concurrent callers share one start). */
  start(): Promise<void> {
    if (!this.starting) {
      const after = this.stopping ?? Promise.resolve();
      this.starting = after.then(() => this.doStart());
      this.starting.catch(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  /** Graceful stop (idempotent: concurrent callers share one stop). */
  stop(): Promise<void> {
    if (!this.starting) return this.stopping ?? Promise.resolve();
    if (!this.stopping) {
      this.stopping = this.starting
        .catch(() => undefined)
        .then(() => this.doStop())
        .finally(() => {
          this.starting = undefined;
          this.stopping = undefined;
        });
    }
    return this.stopping;
  }

  /** Stops campaigning and firing on this replica (the API stays up); the seed's Stop. */
  async standby(): Promise<void> {
    const r = this.mustRun();
    await this.leaveLeadership(r, "standby");
    await r.leadership.standby();
    void r.heartbeat.beat();
  }

  /** Campaigns for leadership again; the seed's Start. */
  async activate(): Promise<void> {
    const r = this.mustRun();
    r.leadership.campaign();
    void r.heartbeat.beat();
  }

  async status(): Promise<SchedulerStatus> {
    const r = this.mustRun();
    const [holder, replicas, workers, backlog] = await Promise.all([
      r.leadership.holder(),
      r.registry.replicas(),
      r.registry.workers(),
      r.backlog(),
    ]);
    const status: SchedulerStatus = {
      replicas,
      workers,
      jobs: { total: r.index.size, active: r.index.active },
      backlog,
    };
    if (holder) {
      const known = replicas.find((x) => x.replicaId === holder.replicaId);
      status.leader = {
        replicaId: holder.replicaId,
        host: holder.host,
        pid: holder.pid,
        role: "leader",
        startedAt: known?.startedAt ?? holder.acquiredAt,
        epoch: holder.epoch,
        since: holder.acquiredAt,
      };
    }
    return status;
  }

  /** The run stream's backlog per node and job type (also in status). */
  backlog(): Promise<BacklogEntry[]> {
    return this.mustRun().backlog();
  }

  private mustRun(): Running {
    if (!this.running) throw new Error("the scheduler is not running: call start() first");
    return this.running;
  }

  private replicaInfo(): ReplicaInfo {
    return {
      replicaId: this.replicaId,
      host: hostname(),
      pid: process.pid,
      role: this.role,
      startedAt: this.startedAt,
    };
  }

  private async doStart(): Promise<void> {
    const r = await assemble({
      input: this.input,
      options: this.options,
      log: this.log,
      events: this.events,
      metrics: this.metrics,
      sys: {
        status: () => this.status(),
        standby: () => this.standby(),
        activate: () => this.activate(),
        shutdown: () => this.stop(),
      },
      replicaInfo: () => this.replicaInfo(),
      onLeadership: (leader, epoch) => this.onLeadership(leader, epoch),
      onFenced: (err) => this.onFenced(err),
      onFiringFailed: () => this.resignLeadership("firing loop failed"),
    });
    this.running = r;
    r.api.start();
    r.heartbeat.start();
    r.replicaEvery?.start();
    if (!this.options.standby) r.leadership.campaign();
    this.log.info({ prefix: this.options.prefix, standby: this.options.standby }, "scheduler started");
  }

  /** Lease gained or lost. Gaining: claim the cursor, catch the view up, then fire. */
  private onLeadership(leader: boolean, epoch: number): void {
    const r = this.running;
    if (!r) return;
    const gen = ++this.leaderGeneration;
    if (!leader) {
      void this.leaveLeadership(r, "lease lost");
      return;
    }
    void (async () => {
      const o = this.options;
      try {
        this.log.debug({ epoch }, "lease acquired: claiming the fire cursor");
        const claimed = await r.cursorStore.claim(epoch, o.replicaId, new Date(o.clock.now()).toISOString());
        // the lease went while the takeover waited: whoever holds it now takes over (said, not silent)
        const gone = (step: string) => {
          if (gen === this.leaderGeneration && r.leadership.isLeader()) return false;
          this.log.info({ epoch, step }, "takeover abandoned: the lease was lost meanwhile");
          return true;
        };
        if (gone("cursor claimed")) return;
        const caughtUp = await r.index.waitForRevision(claimed.jobsRevision, o.takeoverCatchUpTimeoutMs);
        if (!caughtUp)
          this.log.warn(
            { want: claimed.jobsRevision, have: r.index.revision },
            "view behind the old leader's",
          );
        if (gone("view caught up")) return;
        this.takeoverFailures = 0;
        r.ticker.startFiring(epoch, claimed);
        r.cursorKeeper.start(epoch, claimed);
        r.reaper.start();
        r.retention.start();
        r.skew.start();
        this.leaderSince = new Date().toISOString();
        void r.heartbeat.beat();
        this.log.info({ epoch, cursor: claimed.firedThroughMs, jobs: r.index.active }, "leader: firing");
        this.events.emit("leader:elected", { epoch });
      } catch (err) {
        // a takeover that cannot make progress (the cursor or the store unavailable) gives the lease up and
        // waits, longer each time, before it campaigns again: not a loop of acquire-fail-release (issue 18)
        const pauseMs = takeoverBackoffMs(++this.takeoverFailures, this.options.leaseTtlMs);
        this.log.error(
          { err: String(err), epoch, failures: this.takeoverFailures, pauseMs },
          "takeover failed; giving the lease up",
        );
        this.events.emit("leader:takeoverFailed", {
          epoch,
          failures: this.takeoverFailures,
          pauseMs,
          error: String(err),
        });
        if (gen === this.leaderGeneration) await r.leadership.resign(pauseMs).catch(() => undefined);
      }
    })();
  }

  private async leaveLeadership(r: Running, reason: string): Promise<void> {
    const wasFiring = r.ticker.isFiring;
    r.ticker.stopFiring();
    r.cursorKeeper.stop();
    r.reaper.stop();
    r.retention.stop();
    r.skew.stop();
    if (wasFiring) {
      this.log.info({ reason, since: this.leaderSince }, "leader: stopped firing");
      this.events.emit("leader:lost", { epoch: r.ticker.epoch, reason });
      void r.heartbeat.beat();
    }
  }

  private onFenced(err: FencedError): void {
    const r = this.running;
    if (!r) return;
    this.log.warn({ err: err.message }, "deposed: another leader took the fire cursor");
    // give the lease up too (a no-op when the newer leader holds it already) and campaign again
    this.resignLeadership("fenced");
  }

  private resignLeadership(reason: string): void {
    const r = this.running;
    if (!r) return;
    this.leaderGeneration++;
    void this.leaveLeadership(r, reason).then(() => r.leadership.resign().catch(() => undefined));
  }

  /** Measures every registered worker's clock against this replica's now (also done periodically by the leader). */
  async checkWorkerClocks(): Promise<{ workerId: string; skewMs: number }[]> {
    return this.mustRun().skew.check();
  }

  /** This replica's view of the job store (jobs it holds in memory, finished ones among them). */
  index(): JobIndex {
    return this.mustRun().index;
  }

  /**
   * The copies of the run stream, job bucket and lease bucket as last checked (every replicaCheckMs where
   * streams are replicated; empty otherwise), stuck ones flagged (replicaWatch.ts).
   */
  replicaHealth(): ReplicaHealth[] {
    return this.running?.replicaWatch?.health() ?? [];
  }

  /** Checks the streams' copies now (see replicaHealth). */
  async checkReplicas(): Promise<ReplicaHealth[]> {
    return (await this.mustRun().replicaWatch?.check()) ?? [];
  }

  /** Removes finished jobs past their retention now (the leader also does this every retentionSweepMs). */
  async sweepFinished(): Promise<number> {
    return this.mustRun().retention.sweep();
  }

  /** Clears runs of workers that stopped heartbeating now (the leader also does this every reaperIntervalMs). */
  async reapDeadRuns(): Promise<number> {
    return this.mustRun().reaper.sweep();
  }

  private async doStop(): Promise<void> {
    const r = this.running;
    if (!r) return;
    const o = this.options;
    r.api.stop();
    r.replicaEvery?.stop();
    if (r.ticker.isFiring) {
      // stop taking batches, let what is in flight be acked and recorded, then write the final cursor
      // while the lease is still ours, so the next leader resumes exactly here
      r.ticker.stopLoop();
      await r.ticker.drain(o.publishTimeoutMs + 1_000);
      await r.cursorKeeper.flush().catch(() => undefined);
    }
    this.leaderGeneration++;
    await this.leaveLeadership(r, "stopping");
    await r.leadership.standby().catch(() => undefined);
    r.stopCursorWatch();
    await r.heartbeat.stop();
    r.index.stop();
    this.running = undefined;
    r.dispatcher.close();
    r.storeMux.close();
    if (r.ownsControl && r.controlNc !== r.nc) await r.controlNc.drain().catch(() => undefined);
    if (r.ownsConnection) await r.nc.drain().catch(() => undefined);
    this.log.info("scheduler stopped");
    this.events.emit("service:stopped");
  }
}
