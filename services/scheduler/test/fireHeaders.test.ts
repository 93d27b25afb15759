/**
 * A fire's headers are encoded once, ahead of the instant (src/fire/fireHeaders.ts): byte for byte what
 * nats.js' `headers()` would encode, and accepted by nats.js' publish as its MsgHdrs, so a subscriber on a
 * real nats-server receives them as sent (with a reply subject, as the dispatcher's PubAck requests go).
 */
import { describe, expect, it } from "vitest";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { Headers, JSON_TYPE, MSGPACK } from "@taskjet/protocol";
import { collect, uniqueName, useNatsServer } from "@taskjet/testing";
import { fireHeaders } from "../src/fire/fireHeaders.js";

const ctx = useNatsServer();
const td = new TextDecoder();
const NOMINAL = "2026-03-02T10:00:01.000Z";

describe("fire headers", () => {
  it("are byte for byte what nats.js would encode", () => {
    const h = natsHeaders();
    h.set(Headers.MsgId, "t.job:1000:a2");
    h.set(Headers.Epoch, "7");
    h.set(Headers.Nominal, NOMINAL);
    h.set(Headers.FireId, "t.job:1000");
    h.set(Headers.ContentType, MSGPACK);
    // MsgHdrsImpl.encode() is what nats.js' publish sends
    const theirs = (h as unknown as { encode(): Uint8Array }).encode();
    const ours = fireHeaders("t.job:1000:a2", 7, NOMINAL, "t.job:1000").encode();
    expect(td.decode(ours)).toBe(td.decode(theirs));
  });

  it("read like any MsgHdrs and refuse changes", () => {
    const h = fireHeaders("t.job:1000:a1", 3, NOMINAL, "t.job:1000", JSON_TYPE);
    expect(h.get(Headers.Epoch)).toBe("3");
    expect(h.has(Headers.MsgId)).toBe(true);
    expect(h.values(Headers.ContentType)).toEqual([JSON_TYPE]);
    expect(h.last(Headers.FireId)).toBe("t.job:1000");
    expect(h.keys()).toEqual([
      Headers.MsgId,
      Headers.Epoch,
      Headers.Nominal,
      Headers.FireId,
      Headers.ContentType,
    ]);
    expect(h.hasError).toBe(false);
    expect(() => h.set(Headers.Epoch, "4")).toThrow(TypeError);
  });

  it("reach a subscriber as sent through nats.js' publish", async () => {
    const subject = `${uniqueName("fire")}.run`;
    const sub = ctx.nc.subscribe(subject);
    ctx.defer(() => sub.unsubscribe());
    await ctx.nc.flush();
    const trace = {
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      tracestate: "a=1",
    };
    ctx.nc.publish(subject, new Uint8Array([1, 2, 3]), {
      reply: "reply.to.me",
      headers: fireHeaders("t.job:1000:a2", 7, NOMINAL, "t.job:1000", MSGPACK, trace),
    });
    ctx.nc.publish(subject, new Uint8Array([4]), { headers: fireHeaders("t.j2:5:a1", 8, NOMINAL, "t.j2:5") });
    const [first, second] = await collect(sub, 2, 5_000);
    expect(first!.reply).toBe("reply.to.me");
    expect([...first!.data]).toEqual([1, 2, 3]);
    const got = first!.headers!;
    expect({
      msgId: got.get(Headers.MsgId),
      epoch: got.get(Headers.Epoch),
      nominal: got.get(Headers.Nominal),
      fireId: got.get(Headers.FireId),
      contentType: got.get(Headers.ContentType),
      traceparent: got.get(Headers.TraceParent),
      tracestate: got.get(Headers.TraceState),
    }).toEqual({
      msgId: "t.job:1000:a2",
      epoch: "7",
      nominal: NOMINAL,
      fireId: "t.job:1000",
      contentType: MSGPACK,
      ...trace,
    });
    expect(second!.headers!.get(Headers.MsgId)).toBe("t.j2:5:a1");
    expect(second!.headers!.has(Headers.TraceParent)).toBe(false);
  });
});
