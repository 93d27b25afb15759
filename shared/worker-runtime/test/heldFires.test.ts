/**
 * The workers' held-fire question (heldFires.ts) on a real nats-server: the holder answers, everybody else
 * stays silent, and a malformed question gets no answer and changes nothing. The worker-level cases (a
 * redelivered fire handed back or acked as finished) are in effectivelyOnce.test.ts.
 */
import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { useNatsServer } from "@taskjet/testing";
import { askHeld, serveHeld, type HeldQuery } from "../src/run/heldFires.js";

const nats = useNatsServer();
const logger = pino({ level: "silent" });
const te = new TextEncoder();

describe("who holds a fire", () => {
  it("the worker holding it answers with its state; for any other fire nobody answers", async () => {
    const subject = "held-test.ctl._held";
    const asked: HeldQuery[] = [];
    const holds = (q: HeldQuery) => {
      asked.push(q);
      return q.fireId === "t:j:1"
        ? ("running" as const)
        : q.fireId === "t:j:2"
          ? ("finished" as const)
          : undefined;
    };
    const sub = serveHeld(nats.nc, subject, "w-1", holds, logger);
    // a second worker that holds nothing: silent, so the holder's answer is the one that arrives
    const other = serveHeld(nats.nc, subject, "w-2", () => undefined, logger);
    await nats.nc.flush();
    try {
      const q = { attempt: 1, key: "t.default.j" };
      expect(await askHeld(nats.nc, subject, { fireId: "t:j:1", ...q })).toEqual({
        state: "running",
        worker: "w-1",
      });
      expect(await askHeld(nats.nc, subject, { fireId: "t:j:2", ...q })).toEqual({
        state: "finished",
        worker: "w-1",
      });
      expect(await askHeld(nats.nc, subject, { fireId: "t:j:3", ...q }, 200)).toBeUndefined();

      // malformed questions: not JSON, a missing field, an unknown one; no answer, nothing asked of `holds`
      const before = asked.length;
      for (const bad of [
        "not json",
        '{"fireId":"t:j:1","key":"k"}',
        '{"fireId":"t:j:1","attempt":1,"key":"k","x":1}',
      ])
        await expect(nats.nc.request(subject, te.encode(bad), { timeout: 200 })).rejects.toThrow();
      expect(asked.length).toBe(before);
      // and the holder still answers
      expect(await askHeld(nats.nc, subject, { fireId: "t:j:1", ...q })).toEqual({
        state: "running",
        worker: "w-1",
      });
    } finally {
      sub.unsubscribe();
      other.unsubscribe();
    }
  });
});
