import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { headers } from "@nats-io/nats-core";
import { encode } from "@taskjet/protocol";
import { buildFire, startNats, waitFor, type NatsServerFixture } from "@taskjet/testing";
import { type Worker, type WorkerEvents } from "@taskjet/worker-runtime";
import { TestEnv } from "./helpers.js";

let server: NatsServerFixture;
let env: TestEnv;
let w: Worker;
const poison: WorkerEvents["message:poison"][] = [];
beforeAll(async () => {
  server = await startNats();
  env = await new TestEnv(server).init();
  w = env.worker({ node: "po" });
  w.register("good", async () => "fine");
  w.events.on("message:poison", (e) => poison.push(e));
  await w.start();
});
afterAll(async () => {
  await env?.close();
  await server?.stop();
});

describe("poison messages", () => {
  it("garbage bytes, schema-invalid msgpack and mis-addressed fires are terminated and dead-lettered; the worker runs the next good fire", async () => {
    const subjectOf = (jobId: string) => env.ns.run("default", "po", "good", 3, jobId);
    const garbage = new Uint8Array([0xc1, 0xff, 0x00, 0x13, 0x37]);
    await env.js.publish(subjectOf("g1"), garbage);

    const def = await env.job({ type: "good", nodeName: "po" });
    const invalid = { ...buildFire(def), attempt: 0, priority: "urgent" };
    await env.js.publish(subjectOf(def.id), encode(invalid));

    const json = headers();
    json.set("Content-Type", "application/json");
    await env.js.publish(subjectOf("j1"), new TextEncoder().encode('{"fireId": 12'), { headers: json });

    const elsewhere = await env.job({ type: "good", nodeName: "other" });
    await env.js.publish(subjectOf(elsewhere.id), encode(buildFire(elsewhere)));

    // a fire on a subject that names another job (the scheduler's own fires end in `=fire`, naming none)
    const other = await env.job({ type: "good", nodeName: "po" });
    await env.js.publish(subjectOf("someone-else"), encode(buildFire(other)));

    await waitFor(() => poison.length === 5, { message: "five poison events" });
    expect(poison.map((p) => p.subject)).toEqual(
      ["g1", def.id, "j1", elsewhere.id, "someone-else"].map((id) => subjectOf(id)),
    );
    expect(poison[1]!.field).toBe("priority");
    expect(poison[3]!.field).toBe("nodeName");
    expect(poison[4]!.field).toBe("jobId");

    const unknown = await env.deadLetters("_unknown", "_unknown");
    expect(unknown).toHaveLength(2);
    expect(unknown[0]).toMatchObject({
      reason: "poison",
      subject: subjectOf("g1"),
      rawBase64: Buffer.from(garbage).toString("base64"),
    });
    expect(unknown[0]!.error).toMatch(/undecodable fire/);
    expect(unknown[1]!.error).toMatch(/not valid json/);

    const named = await env.deadLetters(def.tenantId, def.id);
    expect(named).toHaveLength(1);
    expect(named[0]!.reason).toBe("poison");
    // names the first offending field (in schema order) and counts the rest
    expect(named[0]!.error).toMatch(/^invalid fire: priority: .*\(and 1 more\)$/);
    expect(named[0]!.fire).toMatchObject({ jobId: def.id, priority: "urgent" });

    const misaddressed = await env.deadLetters(elsewhere.tenantId, elsewhere.id);
    expect(misaddressed[0]!.error).toMatch(/nodeName: "other" does not match the subject's node "po"/);
    expect((await env.record(elsewhere))!.state.triggerCount).toBe(0);

    // terminated, not redelivered: the stream is empty, and the worker still works (a fire on `...=fire`)
    await env.fire(def);
    await env.waitRecord(def, (j) => j.state.status === "completed", "good fire ran");
    await waitFor(async () => (await env.topo.jsm.streams.info(env.ns.streams.run)).state.messages === 0, {
      message: "nothing left on the run stream",
    });
    expect(poison).toHaveLength(5);
  });
});
