/**
 * The scheduler's PubAck reader (pubAckMux.ts) against the acks nats-server writes; the spacing is the
 * server's own (2.9.10), which once hid every duplicate from the `duplicate` metric.
 */
import { describe, expect, it } from "vitest";
import { headers, type Msg } from "@nats-io/nats-core";
import { parsePubAck } from "../src/pubAckMux.js";

const ack = (text: string, hdrs?: Msg["headers"]): Msg =>
  ({ data: new TextEncoder().encode(text), headers: hdrs }) as unknown as Msg;

describe("parsePubAck", () => {
  // the first two as nats-server 2.9.10 writes them; compact and domain-carrying acks alike
  it.each([
    ['{"stream":"run", "seq":1}', { stream: "run", seq: 1, duplicate: false }],
    ['{"stream":"run", "seq":1,"duplicate": true}', { stream: "run", seq: 1, duplicate: true }],
    ['{"stream":"run","seq":42,"duplicate":true}', { stream: "run", seq: 42, duplicate: true }],
    ['{"stream":"run", "domain":"hub", "seq":7}', { stream: "run", seq: 7, duplicate: false }],
  ])("reads %s", (text, expected) => {
    expect(parsePubAck(ack(text))).toEqual(expected);
  });

  it("throws the stream's error, and a no-responders status", () => {
    expect(() =>
      parsePubAck(ack('{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"}}')),
    ).toThrow(/maximum messages exceeded \(10077\)/);
    const h = headers(503, "No Responders");
    expect(() => parsePubAck(ack("", h))).toThrow(/publish failed: 503/);
  });
});
