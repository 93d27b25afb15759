/**
 * A delivered fire on its way through the worker, from the puller to its settlement: the message, what was
 * decoded and read for it so far, and its abort state (interrupt, timeout, shutdown). The worker's slots,
 * the early-fire hold and the runner all pass this one object along.
 */
import type { FireMessage, StoredJob } from "@taskjet/protocol";
import type { Decoded } from "./decodeFire.js";
import { RunAbortedError, type AbortReason } from "../errors.js";
import type { Registration } from "../handler.js";
import type { RunMessage } from "./runMessage.js";
import type { RunRef } from "../workerEvents.js";

/** What a run needs once its fire is decoded and its job read (see Runner.prepare). */
export interface PreparedRun {
  fire: FireMessage;
  ref: RunRef;
  reg: Registration;
  key: string;
  stored: StoredJob;
  /**
   * a fast-lane job (protocol fastJob.ts): `stored` is its record made from the message (revision 0), not
   * read from the store; its outcome is one create of the finished record (or nothing, retention `true`)
   */
  fast?: boolean;
}

/** A message between delivery and settlement: holds one of the worker's slots (or waits for its instant). */
export class ActiveRun {
  fire: FireMessage | undefined;
  /** set when the run was prepared ahead of its nominal time (an early fire held by the worker) */
  prepared: PreparedRun | undefined;
  /** the payload, decoded on arrival (the worker reads the nominal time from it) */
  decoded: Decoded | undefined;
  /** when it last went into the worker's buffer to wait for a slot */
  bufferedAt = 0;
  /**
   * called once when the handler has returned (the worker frees the run's slot); a promise returned is
   * waited on before the run finishes (RunSlots.finishTurn)
   */
  onHandlerDone: (() => Promise<void> | undefined) | undefined;
  /** rejects the handler's race when the run is aborted */
  onAbort: ((err: RunAbortedError) => void) | undefined;
  private controller: AbortController | undefined;
  private reason: AbortReason | undefined;

  constructor(readonly msg: RunMessage) {}

  /** Made on first use: most handlers never look at their signal. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason !== undefined) this.controller.abort(new RunAbortedError(this.reason));
    }
    return this.controller.signal;
  }

  get abortReason(): AbortReason | undefined {
    return this.reason;
  }

  abort(reason: AbortReason): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    const err = new RunAbortedError(reason);
    this.controller?.abort(err);
    this.onAbort?.(err);
  }
}
