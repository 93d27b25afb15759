/**
 * Store and stream calls of a run that ride out a NATS outage (a server restart, no responders, timeouts):
 * retried with backoff until finalizeTimeoutMs, or until stop()'s grace is over. Meanwhile the message is
 * kept alive by in-progress acks; if a call still cannot be made, the runner hands the fire back.
 *
 * The job's state is written with a compare-and-set from the record read before the run, so a run costs no
 * extra read unless someone wrote meanwhile.
 */
import type { Logger } from "pino";
import { ConflictError, NotFoundError, type JobRecord, type StoredJob } from "@taskjet/protocol";
import { isTransient, type JobStore } from "@taskjet/nats";
import { errorText } from "../errors.js";
import type { ResolvedWorkerOptions } from "../options.js";

export interface DurableDeps {
  o: ResolvedWorkerOptions;
  store: JobStore;
  logger: Logger;
  /** true once stop()'s grace is over: retries give up and the fire is handed back */
  givingUp: () => boolean;
}

/** compare-and-set tries of one write before it gives up (each lost to a concurrent writer) */
const MAX_ATTEMPTS = 20;

export class Durable {
  constructor(private readonly d: DurableDeps) {}

  /**
   * CAS write from a record read earlier; re-reads (from the stream leader) and re-applies only if someone
   * wrote meanwhile. `fn` learns whether an earlier try may have landed: a lost CAS did not, a timeout might
   * have. `removeIf`: the job is removed instead (a compare-and-set delete) when the record `fn` made says so
   * (retention `true`). Resolves with what was written (a removed job: its last record), or `undefined`
   * when the job was removed meanwhile.
   */
  write(
    key: string,
    seed: StoredJob,
    fn: (rec: StoredJob, uncertain: boolean) => JobRecord | undefined,
    removeIf?: (next: JobRecord) => boolean,
  ): Promise<StoredJob | undefined> {
    let uncertain = false;
    return this.call(async () => {
      let current: StoredJob | undefined = seed;
      for (let attempt = 1; ; attempt++) {
        // a deleted key reads as absent: treat it as removed
        if (!current?.def || !current.state) return undefined;
        const next = fn(current, uncertain);
        if (!next) return current;
        try {
          if (removeIf?.(next)) {
            await this.d.store.remove(key, current.revision);
            return { def: next.def, state: next.state, revision: current.revision };
          }
          const revision = await this.d.store.update(key, next, current.revision);
          return { def: next.def, state: next.state, revision };
        } catch (err) {
          if (!(err instanceof ConflictError) || attempt >= MAX_ATTEMPTS) {
            if (!(err instanceof ConflictError) && !(err instanceof NotFoundError)) uncertain = true;
            throw err;
          }
        }
        current = await this.d.store.latest(key);
      }
    });
  }

  /** Runs `fn`; through transient NATS failures (restart, no responders, timeouts) retries until the deadline. */
  call<T>(fn: () => Promise<T>): Promise<T> {
    return fn().catch((err: unknown) => this.retry(fn, err));
  }

  private async retry<T>(fn: () => Promise<T>, first: unknown): Promise<T> {
    const deadline = Date.now() + this.d.o.finalizeTimeoutMs;
    let err = first;
    let delay = 100;
    for (;;) {
      if (!isTransient(err) || Date.now() + delay > deadline || this.d.givingUp()) throw err;
      this.d.logger.debug({ err: errorText(err) }, "store or stream unavailable; retrying");
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2000);
      try {
        return await fn();
      } catch (e) {
        err = e;
      }
    }
  }
}
