/**
 * Pulls fires from the worker's consumers, highest priority first, never more than the worker has room for
 * (free run slots plus a bounded prefetch buffer, see runSlots.ts).
 *
 * nats.js' fetch() cannot ask "what is there right now" (no `no_wait`, expires >= 1 s), which would make a
 * priority sweep over ten consumers cost seconds. So the puller speaks the pull protocol itself:
 *
 *   drain round  for each consumer, p5 first (node before any-node): `{batch: room, no_wait: true}`; the
 *                server answers with up to `room` messages, then 404 No Messages / 408 when it had fewer.
 *                A round starts when a run slot is idle or a quarter of the room is free, so under load
 *                one round fetches many fires while the prefetched ones run.
 *   watch        a consumer that had fewer fires than asked for gets one long poll
 *                `{batch: 1, expires: idlePollMs}`, and rounds skip it while that poll is pending: its
 *                delivery (a new fire, a nak'd one or an ack-wait redelivery) or its expiry wakes the pump,
 *                and the next round drains that consumer again. So a round asks only the consumers that
 *                may have fires: a worker with one busy type of ten consumers sends one pull request a
 *                round, not ten (each costs the server a count of the consumer's pending messages; on 2.9
 *                that walks every distinct subject pending in the stream: fast-lane jobs have one each,
 *                and at the throughput benchmark's rate those walks were half of nats-server's CPU).
 *   idle         when every consumer is watched and slots are free, the pump sleeps until a poll ends.
 *
 * A long poll's one message is taken even when the worker has no room left (it waits in the prefetch
 * buffer): handing it back would count a delivery against it. So the buffer may hold one fire more per
 * consumer than the worker's room.
 *
 * Each (consumer, kind) has its own inbox subscription, so a delivery is attributed without parsing. A
 * drained message that finds no room (the room shrank after the request) is nak'd at once, and so is any
 * message once the puller stopped: another worker takes it. Pending pull requests vanish with a server
 * restart: on disconnect every wait ends and rounds pause until the reconnect.
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Logger } from "pino";
import { inboxFor, type PublishBatch } from "@taskjet/nats";
import { RunMessage } from "../run/runMessage.js";

export interface PullTarget {
  /** durable consumer name */
  name: string;
  /** 1 (low) .. 5 (high) */
  priority: number;
}

export interface PullerOptions {
  stream: string;
  /** ordered: first is pulled first */
  targets: PullTarget[];
  idlePollMs: number;
  /** how many more messages the worker takes right now (free run slots + free prefetch room) */
  capacity: () => number;
  /** true when a round is worth it now (enough room, or a run slot idle) */
  wantsMore: () => boolean;
  /** takes the message synchronously (runs or buffers it) */
  deliver: (msg: RunMessage) => void;
  logger: Logger;
  apiPrefix?: string;
  /** wait for an answer to a no_wait pull before giving up the round */
  drainTimeoutMs?: number;
}

interface Drain {
  seq: number;
  remaining: number;
  done: (error?: string) => void;
  timer: NodeJS.Timeout;
}

interface Target extends PullTarget {
  index: number;
  api: string;
  drainInbox: string;
  pollInbox: string;
  drain: Drain | undefined;
  poll: { seq: number; timer: NodeJS.Timeout } | undefined;
  subs: Subscription[];
}

const te = new TextEncoder();

export class Puller {
  private readonly targets: Target[];
  private stopped = true;
  private connected = true;
  private seq = 0;
  private nextIndex = 0;
  private waker: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private idle = false;
  private pollTrouble = false;

  private readonly inbox: string;

  constructor(
    private readonly nc: NatsConnection,
    private readonly out: PublishBatch,
    private readonly o: PullerOptions,
  ) {
    // under the connection's inbox prefix: a worker may subscribe only to its own (deploy/nats/)
    this.inbox = inboxFor(nc);
    this.targets = [];
    this.add(o.targets);
  }

  /**
   * Adds consumers to pull from (a type registered after start): each goes after the targets of its own
   * priority or higher, so the sweep stays highest priority first. Names already pulled are ignored.
   */
  add(targets: PullTarget[]): void {
    const api = this.o.apiPrefix ?? "$JS.API";
    for (const t of targets) {
      if (this.targets.some((x) => x.name === t.name)) continue;
      const index = this.nextIndex++;
      const target: Target = {
        ...t,
        index,
        api: `${api}.CONSUMER.MSG.NEXT.${this.o.stream}.${t.name}`,
        drainInbox: `${this.inbox}.${index}.d`,
        pollInbox: `${this.inbox}.${index}.p`,
        drain: undefined,
        poll: undefined,
        subs: [],
      };
      const at = this.targets.findIndex((x) => x.priority < t.priority);
      this.targets.splice(at < 0 ? this.targets.length : at, 0, target);
      if (!this.stopped) this.subscribe(target);
    }
    this.wake();
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    for (const t of this.targets) this.subscribe(t);
    this.loop = this.pump();
  }

  private subscribe(t: Target): void {
    t.subs.push(
      this.nc.subscribe(`${t.drainInbox}.*`, { callback: (_e, m) => this.onDrainMsg(t, m) }),
      this.nc.subscribe(`${t.pollInbox}.*`, { callback: (_e, m) => this.onPollMsg(t, m) }),
    );
  }

  /** Stops pulling: no new requests. Deliveries of pending ones are still received and handed back (nak). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
  }

  /**
   * Resolves when no long poll is pending any more (each ends by delivering one message or expiring), or
   * after `timeoutMs`. NATS 2.9 keeps a pull request after its subscriber left, and hands the next message
   * (even one another worker nak'd) to it, where it sits until its ack wait runs out. So the worker
   * unsubscribes only once its pull requests are gone, and until then answers deliveries with a nak.
   */
  pollsEnded(timeoutMs: number): Promise<void> {
    if (!this.targets.some((t) => t.poll)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const check = setInterval(() => {
        if (!this.targets.some((t) => t.poll)) done();
      }, 50);
      function done() {
        clearTimeout(timer);
        clearInterval(check);
        resolve();
      }
    });
  }

  /** Unsubscribes (after pollsEnded). */
  close(): void {
    for (const t of this.targets) {
      for (const s of t.subs) s.unsubscribe();
      t.subs = [];
      this.endDrain(t, "closed");
      this.endPoll(t);
    }
  }

  /** A slot was freed (or something else changed): run the next round if the pump waits for one. */
  notify(): void {
    if (!this.idle) this.wake();
  }

  onDisconnect(): void {
    this.connected = false;
    for (const t of this.targets) {
      this.endDrain(t, "disconnected");
      this.endPoll(t);
    }
  }

  onReconnect(): void {
    this.connected = true;
    for (const t of this.targets) this.endPoll(t);
    this.wake();
  }

  private wake(): void {
    const w = this.waker;
    this.waker = undefined;
    w?.();
  }

  private sleep(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => this.wake(), ms);
      this.waker = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
    });
  }

  private async pump(): Promise<void> {
    while (!this.stopped) {
      if (!this.connected) {
        await this.sleep(1000);
        continue;
      }
      if (!this.o.wantsMore()) {
        await this.sleep();
        continue;
      }
      let error: string | undefined;
      round: for (const t of this.targets) {
        // watched by a pending long poll: nothing came since it was drained
        if (t.poll) continue;
        // stay on a consumer while it fills every request: a lower priority is asked only once a higher
        // one had fewer fires than there was room for
        for (;;) {
          const free = this.o.capacity();
          if (free <= 0 || this.stopped) break round;
          const r = await this.drainOnce(t, free);
          if (r.error !== undefined) {
            error = r.error;
            break round;
          }
          if (r.got < free) {
            // drained: watch it until it has fires again
            this.armPoll(t);
            break;
          }
        }
      }
      if (this.stopped) break;
      if (error) {
        if (error !== "disconnected") this.o.logger.debug({ error }, "pull round failed; backing off");
        await this.sleep(500);
        continue;
      }
      if (this.o.capacity() <= 0) {
        // full: wait for a run to end (notify) rather than spin
        await this.sleep();
        continue;
      }
      // every consumer had fewer fires than asked for: wait for new ones with long polls (armed as each was
      // drained; one that ended meanwhile is armed again here)
      for (const t of this.targets) this.armPoll(t);
      this.idle = true;
      await this.sleep();
      this.idle = false;
      if (this.pollTrouble) {
        this.pollTrouble = false;
        await this.sleep(500);
      }
    }
  }

  /** One no_wait pull; resolves with how many messages came (and an error, when the round should pause). */
  private drainOnce(t: Target, batch: number): Promise<{ got: number; error?: string }> {
    return new Promise((resolve) => {
      const seq = ++this.seq;
      const timer = setTimeout(() => this.endDrain(t, "timeout"), this.o.drainTimeoutMs ?? 5000);
      const drain: Drain = {
        seq,
        remaining: batch,
        timer,
        done: (error) =>
          resolve(
            error === undefined ? { got: batch - drain.remaining } : { got: batch - drain.remaining, error },
          ),
      };
      t.drain = drain;
      this.request(t.api, { batch, no_wait: true }, `${t.drainInbox}.${seq}`, () =>
        this.endDrain(t, "closed"),
      );
    });
  }

  private endDrain(t: Target, error?: string): void {
    const d = t.drain;
    if (!d) return;
    t.drain = undefined;
    clearTimeout(d.timer);
    d.done(error);
  }

  private armPoll(t: Target): void {
    if (t.poll || this.stopped || !this.connected) return;
    const seq = ++this.seq;
    const timer = setTimeout(() => {
      if (t.poll?.seq === seq) this.pollEnded(t);
    }, this.o.idlePollMs + 3000);
    t.poll = { seq, timer };
    this.request(t.api, { batch: 1, expires: this.o.idlePollMs * 1_000_000 }, `${t.pollInbox}.${seq}`, () =>
      this.pollEnded(t),
    );
  }

  private endPoll(t: Target): void {
    if (!t.poll) return;
    clearTimeout(t.poll.timer);
    t.poll = undefined;
  }

  private pollEnded(t: Target): void {
    this.endPoll(t);
    this.wake();
  }

  private request(subject: string, body: object, reply: string, onError: () => void): void {
    try {
      this.nc.publish(subject, te.encode(JSON.stringify(body)), { reply });
    } catch (err) {
      this.o.logger.debug({ err }, "pull request not sent");
      onError();
    }
  }

  private onDrainMsg(t: Target, m: Msg): void {
    if (this.isStatus(m)) {
      // statuses come on the request's own reply subject: ignore a late one of an earlier request
      if (t.drain && m.subject.endsWith(`.${t.drain.seq}`)) {
        const code = m.headers?.code ?? 0;
        // 404/408: fewer fires than asked; anything else (409 max ack pending, consumer deleted, 503 no
        // JetStream) pauses the round
        this.endDrain(
          t,
          code === 404 || code === 408 ? undefined : `status ${code} ${m.headers?.description ?? ""}`,
        );
      }
      return;
    }
    this.take(t, m);
    if (t.drain && --t.drain.remaining <= 0) this.endDrain(t);
  }

  private onPollMsg(t: Target, m: Msg): void {
    if (this.isStatus(m)) {
      if (t.poll && m.subject.endsWith(`.${t.poll.seq}`)) {
        // 408: expired as planned; anything else must not turn idling into a busy loop
        if (m.headers?.code !== 408) this.pollTrouble = true;
        this.pollEnded(t);
      }
      return;
    }
    // a long poll asks for one message: it is done
    this.endPoll(t);
    this.take(t, m, true);
    this.wake();
  }

  private isStatus(m: Msg): boolean {
    return !m.reply && m.data.length === 0 && (m.headers?.code ?? 0) > 0;
  }

  /** `polled`: the one message of a long poll, taken even without room (see the header). */
  private take(t: Target, m: Msg, polled = false): void {
    if (!m.reply) return;
    const msg = new RunMessage(this.out, m, t.priority);
    if (this.stopped || (!polled && this.o.capacity() <= 0)) {
      msg.nak();
      return;
    }
    this.o.deliver(msg);
  }
}
