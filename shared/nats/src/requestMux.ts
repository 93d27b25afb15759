/**
 * A lean request/reply multiplexer for the hot path (store reads and writes, run-log appends).
 *
 * nats.js' request() allocates a timer, a deferred and two Error objects (with stack traces) per call; at
 * thousands of runs a second that is most of the worker's CPU. Here every request shares one inbox
 * subscription and one sweeping timer, and nothing is allocated on success beyond the promise.
 */
import { type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "@nats-io/nats-core";
import type { Publisher } from "./batch.js";
import { inboxFor } from "./inbox.js";

interface Pending {
  resolve: (m: Msg) => void;
  reject: (e: Error) => void;
  deadline: number;
}

/** Named like nats.js' errors, so retry logic treats them alike. */
export class MuxTimeoutError extends Error {
  override name = "TimeoutError";
}
export class MuxNoRespondersError extends Error {
  override name = "NoRespondersError";
}

export class RequestMux {
  /** under the connection's inbox prefix: a user may be allowed to subscribe to nothing else */
  private readonly inbox: string;
  private readonly pending = new Map<string, Pending>();
  private readonly sub: Subscription;
  private readonly sweeper: NodeJS.Timeout;
  private seq = 0;

  constructor(
    nc: NatsConnection,
    private readonly out: Publisher,
    private readonly timeoutMs = 5_000,
  ) {
    this.inbox = inboxFor(nc);
    const prefixLength = this.inbox.length + 1;
    this.sub = nc.subscribe(`${this.inbox}.*`, {
      callback: (_err, m) => {
        const token = m.subject.slice(prefixLength);
        const p = this.pending.get(token);
        if (!p) return;
        this.pending.delete(token);
        if (m.data.length === 0 && m.headers?.code === 503)
          p.reject(new MuxNoRespondersError(`no responders`));
        else p.resolve(m);
      },
    });
    this.sweeper = setInterval(() => this.sweep(), Math.min(1000, Math.max(100, timeoutMs / 5)));
    this.sweeper.unref();
  }

  request(subject: string, data: Uint8Array, headers?: MsgHdrs): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const token = (++this.seq).toString(36);
      this.pending.set(token, { resolve, reject, deadline: Date.now() + this.timeoutMs });
      this.out.publish(subject, data, `${this.inbox}.${token}`, headers, (err) => {
        this.pending.delete(token);
        reject(err);
      });
    });
  }

  /** Fails every pending request at once (connection lost: their replies will never come); callers retry. */
  failPending(reason: string): void {
    for (const p of this.pending.values()) p.reject(new MuxTimeoutError(reason));
    this.pending.clear();
  }

  close(): void {
    clearInterval(this.sweeper);
    this.sub.unsubscribe();
    for (const p of this.pending.values()) p.reject(new MuxTimeoutError("request multiplexer closed"));
    this.pending.clear();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [token, p] of this.pending) {
      if (p.deadline > now) continue;
      this.pending.delete(token);
      p.reject(new MuxTimeoutError(`request timed out after ${this.timeoutMs} ms`));
    }
  }
}
