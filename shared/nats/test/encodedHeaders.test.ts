/**
 * Headers encoded once (src/encodedHeaders.ts): byte for byte what nats.js' `headers()` encodes, refused where
 * nats.js refuses, final, and received as sent by a subscriber on a real nats-server, with one instance on
 * many messages.
 */
import { describe, expect, it } from "vitest";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { collect, uniqueName, useNatsServer } from "@taskjet/testing";
import { encodedHeaders } from "../src/encodedHeaders.js";

const ctx = useNatsServer();
const td = new TextDecoder();

const pairs: [string, string][] = [
  ["ce-specversion", "1.0"],
  ["ce-id", "NUID0123456789"],
  ["Content-Type", "application/json"],
  ["Taskjet-Resent", " 1 "],
  ["traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"],
];

describe("encoded headers", () => {
  it("are byte for byte what nats.js' headers() encodes (values trimmed as it trims them)", () => {
    const h = natsHeaders();
    for (const [k, v] of pairs) h.set(k, v);
    const theirs = (h as unknown as { encode(): Uint8Array }).encode();
    expect(td.decode(encodedHeaders(pairs).encode())).toBe(td.decode(theirs));
    expect(td.decode(encodedHeaders([]).encode())).toBe(
      td.decode((natsHeaders() as unknown as { encode(): Uint8Array }).encode()),
    );
  });

  it("refuse a value with CR or LF and a name with a colon, space or non-ASCII character; read like any MsgHdrs; are final", () => {
    expect(() => encodedHeaders([["a", "x\r\nInjected: 1"]])).toThrow(TypeError);
    expect(() => encodedHeaders([["a", "x\ny"]])).toThrow(TypeError);
    for (const bad of ["a:b", "a b", "", "ü"])
      expect(() => encodedHeaders([[bad, "v"]]), bad).toThrow(TypeError);
    const h = encodedHeaders(pairs);
    expect(h.get("Taskjet-Resent")).toBe("1");
    expect(h.keys()).toEqual(pairs.map(([k]) => k));
    expect(h.has("ce-id")).toBe(true);
    expect(() => h.set("ce-id", "other")).toThrow(TypeError);
  });

  it("reach subscribers as sent, one instance on many messages", async () => {
    const subject = uniqueName("hdr");
    const sub = ctx.nc.subscribe(subject, { max: 3 });
    await ctx.nc.flush();
    const h = encodedHeaders(pairs);
    for (let i = 0; i < 3; i++) ctx.nc.publish(subject, new Uint8Array([i]), { headers: h });
    const got = await collect(sub, 3, 5_000);
    for (const m of got) {
      expect(m.headers?.get("ce-id")).toBe("NUID0123456789");
      expect(m.headers?.get("traceparent")).toBe(pairs[4]![1]);
    }
  });
});
