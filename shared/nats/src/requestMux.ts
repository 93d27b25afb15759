/**
 * A lean request/reply multiplexer for the hot path (store reads and writes, run-log appends).
 *
 * nats.js' request() allocates a timer, a deferred and two Error objects (with stack traces) per call; at
 * thousands of runs a second that is most of the worker's CPU. Here every request shares one inbox
 * subscription and one sweeping timer, and nothing is allocated on success beyond the promise. Failures are
 * nats.js' own errors (TimeoutError, NoRespondersError), so callers match one set of types.
 */
import {
  NoRespondersError,
  TimeoutError,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from "@nats-io/nats-core";
import type { Publisher } from "./batch.js";
import { inboxFor } from "./inbox.js";

interface Pending {
  subject: string;
  resolve: (m: Msg) => void;
  reject: (e: Error) => void;
  deadline: number;
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
        if (m.data.length === 0 && m.headers?.code === 503) p.reject(new NoRespondersError(p.subject));
        else p.resolve(m);
      },
    });
    this.sweeper = setInterval(() => this.sweep(), Math.min(1000, Math.max(100, timeoutMs / 5)));
    this.sweeper.unref();
  }

  request(subject: string, data: Uint8Array, headers?: MsgHdrs): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const token = (++this.seq).toString(36);
      this.pending.set(token, { subject, resolve, reject, deadline: Date.now() + this.timeoutMs });
      this.out.publish(subject, data, `${this.inbox}.${token}`, headers, (err) => {
        this.pending.delete(token);
        reject(err);
      });
    });
  }

  /**
   * Fails every pending request at once (connection lost: their replies will never come); callers retry.
   * nats.js' TimeoutError, as a request of its own would fail; `reason` is its cause.
   */
  failPending(reason: string): void {
    for (const p of this.pending.values()) p.reject(new TimeoutError({ cause: new Error(reason) }));
    this.pending.clear();
  }

  close(): void {
    clearInterval(this.sweeper);
    this.sub.unsubscribe();
    const closed = new Error("request multiplexer closed");
    for (const p of this.pending.values()) p.reject(new TimeoutError({ cause: closed }));
    this.pending.clear();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [token, p] of this.pending) {
      if (p.deadline > now) continue;
      this.pending.delete(token);
      p.reject(new TimeoutError({ cause: new Error(`no reply to ${p.subject} in ${this.timeoutMs} ms`) }));
    }
  }
}
