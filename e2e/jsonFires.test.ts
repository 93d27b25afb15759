/**
 * The scheduler's jsonFires setting end to end with a taskjet (Node) worker: fires of a listed node or type
 * go out as JSON and run like msgpack ones, outcome, counters and run log included. The Go worker reading
 * them is in goExamples.test.ts; the dispatcher's choice per node and type in the scheduler's firing tests.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jetstreamManager } from "@nats-io/jetstream";
import { decode, encodingOf } from "@taskjet/protocol";
import { waitFor } from "@taskjet/testing";
import { startStack, type Stack } from "@taskjet/test-stack";

let stack: Stack;
const contentTypes: Record<string, string> = {};
// a printable type name with a dot, a comma and a space (issue 19): listed as written
const PRINTABLE = "mail.send, v2";

beforeAll(async () => {
  stack = await startStack({
    // jsonFires is about the scheduler's fires: a fast-lane job is encoded by its producer
    clientOptions: { fastLane: false },
    worker: true,
    node: "n1",
    schedulerOptions: { jsonFires: { nodes: ["n1"], types: [PRINTABLE] } },
    register: (w) => {
      w.register("echo", async (ctx) => ({ echoed: ctx.args }));
      w.register(PRINTABLE, async (ctx) => ({ sent: ctx.args }));
    },
  });
  // every fire as stored in the run stream (a core subscription sees each published message)
  stack.nc.subscribe(`${stack.prefix}.run.>`, {
    callback: (_err, m) => {
      const contentType = m.headers?.get("Content-Type") ?? "";
      const fire = decode(m.data, encodingOf(contentType)) as { jobId: string };
      contentTypes[fire.jobId] = contentType;
    },
  });
  await stack.nc.flush();
}, 60_000);
afterAll(() => stack?.stop());

describe("jsonFires", () => {
  it("a node's fires go out as JSON and a taskjet worker runs them like msgpack ones", async () => {
    const s = stack.client.scheduler;
    await s.queue({ id: "j-once", name: "once", type: "echo", nodeName: "n1", args: { n: 1 } });
    await s.queue({
      id: "j-every",
      name: "every",
      type: "echo",
      nodeName: "n1",
      jobType: "persistent",
      intervalSeconds: 1,
      maxCount: 2,
    });
    await waitFor(async () => (await s.get("j-once")).status === "completed", { message: "j-once ran" });
    // completed once its last fire is dispatched: wait for that fire's run too
    await waitFor(
      async () => (await s.logs("j-every")).filter((e) => e.outcome === "succeeded").length === 2,
      { message: "j-every ran twice" },
    );
    expect(contentTypes["j-once"]).toBe("application/json");
    expect(contentTypes["j-every"]).toBe("application/json");
    expect(await s.get("j-once")).toMatchObject({ result: { echoed: { n: 1 } }, tryCount: 0 });
    expect(await s.get("j-every")).toMatchObject({ status: "completed", triggerCount: 2 });
    // nothing was dead-lettered
    const dlq = await (await jetstreamManager(stack.nc)).streams.info(`${stack.prefix}-dlq`);
    expect(dlq.state.messages).toBe(0);
  });

  it("a listed type's fires go out as JSON by its name as written, another type's without a node as msgpack", async () => {
    const s = stack.client.scheduler;
    await s.queue({ id: "t-json", name: "json", type: PRINTABLE, args: { to: "a" } });
    await s.queue({ id: "t-pack", name: "pack", type: "echo", args: { n: 2 } });
    for (const id of ["t-json", "t-pack"]) {
      await waitFor(async () => (await s.get(id)).status === "completed", { message: `${id} ran` });
    }
    expect(contentTypes["t-json"]).toBe("application/json");
    expect(contentTypes["t-pack"]).toBe("application/msgpack");
    expect(await s.get("t-json")).toMatchObject({ type: PRINTABLE, result: { sent: { to: "a" } } });
  });
});
