import { describe, expect, it } from "vitest";
import { headers } from "@nats-io/nats-core";
import { z } from "zod";
import { namespace, NotFoundError, ValidationError, parseOrThrow } from "@taskjet/protocol";
import { request, serveRequests } from "@taskjet/nats";
import { uniqueName, useNatsServer } from "@taskjet/testing";

const nats = useNatsServer();

describe("request/reply", () => {
  it("answers msgpack and JSON in the caller's encoding, errors as typed envelopes", async () => {
    const ns = namespace(uniqueName("rp"));
    const schema = z.strictObject({ id: z.string().min(1) });
    serveRequests(nats.nc, ns.api("*", "get"), (body) => {
      const { id } = parseOrThrow(schema, body);
      if (id === "missing") throw new NotFoundError("no such job", { field: "id" });
      return { id };
    });
    const subject = ns.api("t1", "get");
    expect(await request(nats.nc, subject, { id: "a" })).toEqual({ id: "a" });
    expect(await request(nats.nc, subject, { id: "a" }, { encoding: "json" })).toEqual({ id: "a" });
    await expect(request(nats.nc, subject, { id: "" })).rejects.toBeInstanceOf(ValidationError);
    await expect(request(nats.nc, subject, { id: "missing" }, { encoding: "json" })).rejects.toMatchObject({
      code: "NOT_FOUND",
      field: "id",
    });

    // a raw client: JSON in, JSON out
    const h = headers();
    h.set("Content-Type", "application/json");
    const raw = await nats.nc.request(subject, JSON.stringify({ id: "b" }), { headers: h, timeout: 2000 });
    expect(raw.headers?.get("Content-Type")).toBe("application/json");
    expect(JSON.parse(raw.string())).toEqual({ ok: true, data: { id: "b" } });

    // garbage JSON gets a DECODE_ERROR reply, not silence
    const bad = await nats.nc.request(subject, "{nope", { headers: h, timeout: 2000 });
    expect(JSON.parse(bad.string())).toMatchObject({ ok: false, error: { code: "DECODE_ERROR" } });
  });

  it("says TIMEOUT when the server does not answer in time", async () => {
    const ns = namespace(uniqueName("rp"));
    const silent = nats.nc.subscribe(ns.api("t1", "list"));
    await nats.nc.flush();
    await expect(request(nats.nc, ns.api("t1", "list"), {}, { timeoutMs: 300 })).rejects.toMatchObject({
      code: "TIMEOUT",
    });
    silent.unsubscribe();
  });

  it("says UNAVAILABLE when nobody serves the subject", async () => {
    const ns = namespace(uniqueName("rp"));
    await expect(request(nats.nc, ns.api("t1", "list"), {}, { timeoutMs: 1000 })).rejects.toMatchObject({
      code: "UNAVAILABLE",
    });
  });
});
