/**
 * A store request JetStream could not answer reaches the API caller as a retryable error (UNAVAILABLE,
 * or TIMEOUT when the write may have been applied), not INTERNAL: after the heal of a network partition
 * the job bucket had no leader for seconds and queue requests were answered INTERNAL, which no client
 * retries (issue 18). A single nats-server always has a leader for its streams, so the outage itself is
 * produced by the partition suite (chaos/partition.mjs: `refused` counts the codes callers got); here the
 * mapping of the errors the store calls throw then.
 */
import { describe, expect, it } from "vitest";
import { JetStreamError } from "@nats-io/jetstream";
import { NoRespondersError, RequestError, TimeoutError } from "@nats-io/nats-core";
import { NotFoundError, TaskjetError } from "@taskjet/protocol";
import { asStoreOutage } from "../src/accept/storeOutage.js";

describe("asStoreOutage", () => {
  it("no responders (as the lean request path and nats.js throw it, also as a cause) is UNAVAILABLE, retryable", () => {
    for (const err of [
      new NoRespondersError("$KV.x.y"),
      new RequestError("request failed", { cause: new NoRespondersError("$KV.x.y") }),
      new Error("write failed", { cause: new NoRespondersError("$KV.x.y") }),
      // what a pull from the run log throws when its stream has no leader (the compose test's NATS kill)
      Object.assign(new JetStreamError("no responders"), { code: 503 }),
    ]) {
      const mapped = asStoreOutage(err) as TaskjetError;
      expect(mapped).toBeInstanceOf(TaskjetError);
      expect(mapped.code).toBe("UNAVAILABLE");
      expect(mapped.retryable).toBe(true);
      expect(mapped.cause).toBe(err);
    }
  });

  it("a timeout is TIMEOUT (outcome unknown), retryable", () => {
    const mapped = asStoreOutage(new TimeoutError()) as TaskjetError;
    expect(mapped.code).toBe("TIMEOUT");
    expect(mapped.retryable).toBe(true);
  });

  it("typed errors and anything else pass unchanged", () => {
    const typed = new NotFoundError("no job x", { field: "id" });
    expect(asStoreOutage(typed)).toBe(typed);
    const bug = new TypeError("x is undefined");
    expect(asStoreOutage(bug)).toBe(bug);
  });
});
