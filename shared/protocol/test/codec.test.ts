import { describe, expect, it } from "vitest";
import {
  decode,
  DecodeError,
  encode,
  FIRE_TOKEN,
  encodingOf,
  errorFromBody,
  errorReply,
  namespace,
  NotFoundError,
  okReply,
  parseRunSubject,
  requestEncodingOf,
  TOKEN_PATTERN,
  unwrapReply,
  ValidationError,
} from "@taskjet/protocol";

describe("codec", () => {
  const value = { a: 1, b: "x", c: [true, null], d: { e: 1.5 } };
  it("round-trips msgpack and JSON", () => {
    expect(decode(encode(value))).toEqual(value);
    expect(decode(encode(value, "json"), "json")).toEqual(value);
    expect(new TextDecoder().decode(encode(value, "json"))).toBe(JSON.stringify(value));
  });
  it("picks the encoding from Content-Type, msgpack by default", () => {
    expect(encodingOf(undefined)).toBe("msgpack");
    expect(encodingOf("application/json; charset=utf-8")).toBe("json");
    expect(encodingOf("application/msgpack")).toBe("msgpack");
    expect(() => encodingOf("text/xml")).toThrow(DecodeError);
  });
  it("sniffs a request without Content-Type: JSON when it starts with { or [, msgpack otherwise", () => {
    const text = (s: string) => new TextEncoder().encode(s);
    expect(requestEncodingOf(undefined, text('{"id":"a"}'))).toBe("json");
    expect(requestEncodingOf(null, text(" \n\t[1]"))).toBe("json");
    expect(requestEncodingOf("", encode({ id: "a" }))).toBe("msgpack");
    expect(requestEncodingOf(undefined, new Uint8Array())).toBe("msgpack");
    // a header always wins, even over bytes that look like JSON
    expect(requestEncodingOf("application/msgpack", text("{}"))).toBe("msgpack");
    expect(() => requestEncodingOf("text/xml", text("{}"))).toThrow(DecodeError);
  });
  it("bad bytes give a DecodeError, never another exception", () => {
    expect(() => decode(new TextEncoder().encode("{nope"), "json")).toThrow(DecodeError);
    expect(() => decode(new Uint8Array([0x82, 0xa1]), "msgpack")).toThrow(DecodeError);
    expect(() => decode(new Uint8Array([0xc1]), "msgpack")).toThrow(DecodeError);
  });
});

describe("reply envelope", () => {
  it("carries data or a typed error that survives the wire", () => {
    expect(unwrapReply(decode(encode(okReply({ id: "a" }))))).toEqual({ id: "a" });
    const wire = decode(
      encode(errorReply(new ValidationError("cron: bad", { field: "cron" })), "json"),
      "json",
    );
    expect(() => unwrapReply(wire)).toThrow(ValidationError);
    try {
      unwrapReply(wire);
    } catch (err) {
      expect(err).toMatchObject({ code: "INVALID_ARGUMENT", field: "cron", message: "cron: bad" });
    }
    expect(errorFromBody(new NotFoundError("gone").toBody())).toBeInstanceOf(NotFoundError);
  });
  it("wraps unknown errors as INTERNAL", () => {
    expect(errorReply(new Error("boom"))).toEqual({
      ok: false,
      error: { code: "INTERNAL", message: "boom", retryable: false },
    });
  });
});

describe("namespace", () => {
  const ns = namespace("tj");
  it("builds filterable subjects", () => {
    expect(ns.api("acme", "queue")).toBe("tj.api.acme.queue");
    expect(ns.run("acme", undefined, "http", 5, "j1")).toBe("tj.run.acme._any.http.p5.j1");
    expect(ns.run("acme", "node-a", "http", 1, "j1")).toBe("tj.run.acme.node-a.http.p1.j1");
    // a scheduler fire: one subject per node, type and priority, never a job's (no job id has an "=")
    expect(ns.fire("acme", undefined, "http", 5)).toBe("tj.run.acme._any.http.p5.=fire");
    expect(FIRE_TOKEN).not.toMatch(TOKEN_PATTERN);
    expect(ns.runOfJob("acme", "j1")).toBe("tj.run.acme.*.*.*.j1");
    expect(ns.runOfTenant("acme")).toBe("tj.run.acme.>");
    expect(ns.runConsumer(undefined, "http", 5)).toEqual({
      name: "tj-any-http-p5",
      filter: "tj.run.*._any.http.p5.*",
    });
    expect(ns.runConsumer("node-a", "http", 1)).toEqual({
      name: "tj-node6-node-a-http-p1",
      filter: "tj.run.*.node-a.http.p1.*",
    });
    // node and type split differently never share a consumer name
    expect(ns.runConsumer("eu", "west-x", 3).name).not.toBe(ns.runConsumer("eu-west", "x", 3).name);
    expect(parseRunSubject(ns, "tj.run.acme._any.http.p5.j1")).toEqual({
      tenant: "acme",
      node: undefined,
      type: "http",
      priority: 5,
      jobId: "j1",
    });
    expect(parseRunSubject(ns, "tj.run.acme.n1.email=2Esend.p3.=fire")).toEqual({
      tenant: "acme",
      node: "n1",
      type: "email.send",
      priority: 3,
      jobId: undefined,
    });
    expect(parseRunSubject(ns, "tj.run.acme._any.http.p5")).toBeUndefined();
    expect(parseRunSubject(ns, "tj.run.acme.n1.p5")).toBeUndefined();
    expect(ns.event({ tenantId: "acme", group: "g", type: "http", id: "j1" }, "after")).toBe(
      "tj.evt.acme.g.http.j1.after",
    );
    expect(ns.eventFilter({ type: "http" })).toBe("tj.evt.*.*.http.*.*");
    expect(ns.jobKey({ tenantId: "acme", group: "g", id: "j1" })).toBe("acme.g.j1");
    expect(ns.buckets.jobs).toBe("tj-jobs");
  });
  it("rejects a prefix that would break subjects or bucket names", () => {
    expect(() => namespace("a.b")).toThrow(/prefix/);
  });
});
