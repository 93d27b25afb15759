/**
 * The one PubAck reader (pubAck.ts) against the acks nats-server writes (the spacing is the server's own,
 * 2.9.10's, which once hid every duplicate from the scheduler's `duplicate` metric), and the request
 * multiplexer's failures: nats.js' own error types, on a real server.
 */
import { describe, expect, it } from "vitest";
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from "@nats-io/jetstream";
import { headers, NoRespondersError, TimeoutError, type Msg } from "@nats-io/nats-core";
import { directPublisher, parsePubAck, RequestMux } from "@taskjet/nats";
import { uniqueName, useNatsServer } from "@taskjet/testing";

const nats = useNatsServer();

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

  it("throws the stream's error as nats.js' JetStreamApiError, a no-responders status as NoRespondersError", () => {
    const full = '{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"}}';
    expect(() => parsePubAck(ack(full))).toThrow(JetStreamApiError);
    try {
      parsePubAck(ack(full));
    } catch (err) {
      expect(err).toMatchObject({ code: 10077, status: 503, message: "maximum messages exceeded" });
    }
    expect(() => parsePubAck(ack("", headers(503, "No Responders")), "x.y")).toThrow(NoRespondersError);
    expect(() => parsePubAck(ack("{nope"))).toThrow(/unreadable reply/);
    expect(() => parsePubAck(ack('{"seq":3}'))).toThrow(/invalid ack/);
  });
});

describe("RequestMux on a real server", () => {
  it("reads acks and stream errors, and fails with NoRespondersError and TimeoutError", async () => {
    const stream = uniqueName("pa");
    const jsm = await jetstreamManager(nats.nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
    const mux = new RequestMux(nats.nc, directPublisher(nats.nc), 500);
    try {
      const subject = `${stream}.a`;
      const h = headers();
      h.set("Nats-Msg-Id", "one");
      expect(parsePubAck(await mux.request(subject, new Uint8Array([1]), h), subject)).toEqual({
        stream,
        seq: 1,
        duplicate: false,
      });
      expect(parsePubAck(await mux.request(subject, new Uint8Array([1]), h), subject)).toMatchObject({
        duplicate: true,
      });
      // a compare-and-set that lost: the code nats.js' kv.update rejects with
      const stale = headers();
      stale.set("Nats-Expected-Last-Subject-Sequence", "0");
      const lost = await mux.request(subject, new Uint8Array([2]), stale);
      expect(() => parsePubAck(lost, subject)).toThrow(JetStreamApiError);
      expect(() => parsePubAck(lost, subject)).toThrow(
        expect.objectContaining({
          code: JetStreamApiCodes.StreamWrongLastSequence,
        }),
      );
      // no stream takes the subject: the server answers 503 at once
      await expect(mux.request(`${uniqueName("none")}.x`, new Uint8Array([1]))).rejects.toBeInstanceOf(
        NoRespondersError,
      );
      // a subscriber that never answers: the sweep fails the request with nats.js' TimeoutError
      const silent = nats.nc.subscribe(`${stream}-silent`);
      await nats.nc.flush();
      await expect(mux.request(`${stream}-silent`, new Uint8Array([1]))).rejects.toBeInstanceOf(TimeoutError);
      silent.unsubscribe();
    } finally {
      mux.close();
      await jsm.streams.delete(stream);
    }
  });
});
