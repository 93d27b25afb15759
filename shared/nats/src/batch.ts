/**
 * Coalesces publishes of one event-loop turn into one socket write. nats.js flushes its outbound buffer in
 * a microtask, so publishes made from many async continuations (acks, store requests of many runs) go out
 * as many small writes; queued here and published together from one setImmediate they become one.
 */
import type { MsgHdrs, NatsConnection } from "@nats-io/nats-core";

interface Queued {
  subject: string;
  data: Uint8Array;
  reply: string | undefined;
  headers: MsgHdrs | undefined;
  onError: ((err: Error) => void) | undefined;
}

/** Something that sends core NATS messages: PublishBatch, or directPublisher for writes that may not wait. */
export interface Publisher {
  publish(
    subject: string,
    data: Uint8Array,
    reply?: string,
    headers?: MsgHdrs,
    onError?: (err: Error) => void,
  ): void;
}

/** One publish; a failure (a closed connection) goes to `onError`: acks are redelivered, requests time out. */
function publishNow(
  nc: NatsConnection,
  subject: string,
  data: Uint8Array,
  reply: string | undefined,
  headers: MsgHdrs | undefined,
  onError: ((err: Error) => void) | undefined,
): void {
  try {
    if (reply !== undefined || headers !== undefined) {
      nc.publish(subject, data, {
        ...(reply !== undefined ? { reply } : {}),
        ...(headers !== undefined ? { headers } : {}),
      });
    } else {
      nc.publish(subject, data);
    }
  } catch (err) {
    onError?.(err instanceof Error ? err : new Error(String(err)));
  }
}

/** Publishes at once (the caller writes a whole batch in one synchronous loop: one socket write anyway). */
export function directPublisher(nc: NatsConnection): Publisher {
  return {
    publish: (subject, data, reply, headers, onError) =>
      publishNow(nc, subject, data, reply, headers, onError),
  };
}

export class PublishBatch implements Publisher {
  private queue: Queued[] = [];
  private scheduled = false;

  constructor(private readonly nc: NatsConnection) {}

  readonly publish: Publisher["publish"] = (subject, data, reply, headers, onError) => {
    this.queue.push({ subject, data, reply, headers, onError });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  };

  flush(): void {
    this.scheduled = false;
    const q = this.queue;
    this.queue = [];
    for (const m of q) publishNow(this.nc, m.subject, m.data, m.reply, m.headers, m.onError);
  }
}
