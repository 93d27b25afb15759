import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNats, waitFor, type NatsServerFixture } from "@taskjet/testing";
import { TestEnv } from "./helpers.js";

let server: NatsServerFixture;
let env: TestEnv;
beforeAll(async () => {
  server = await startNats();
  env = await new TestEnv(server).init();
});
afterAll(async () => {
  await env?.close();
  await server?.stop();
});

describe("NATS server restart", () => {
  it.skipIf(process.env["NATS_URL"] !== undefined)(
    "a run in flight during a restart completes, and the worker keeps consuming without a process restart",
    async () => {
      const w = env.worker({ node: "rs", ackWaitMs: 5_000 });
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let runs = 0;
      w.register("survivor", async () => {
        runs++;
        await released;
        return "survived";
      });
      w.register("after", async () => "after restart");
      await w.start();
      const def = await env.job({ type: "survivor", nodeName: "rs" });
      const started = w.events.next("run:start", (e) => e.fire.jobId === def.id);
      await env.fire(def);
      await started;

      const reconnected = w.events.next("worker:reconnect", () => true, 30_000);
      const succeeded = w.events.next("run:success", (e) => e.fire.jobId === def.id, 30_000);
      await server.restart();
      release();
      await reconnected;
      // the final store write waited for the server (file storage kept stream, consumer and job)
      await succeeded;
      const job = await env.waitRecord(
        def,
        (j) => j.state.status === "completed",
        "completed after restart",
        20_000,
      );
      expect(job.state.result).toBe("survived");

      // consuming resumed: a new fire runs
      const next = await env.job({ type: "after" });
      await waitFor(() => env.fire(next).then(() => true), {
        message: "publish after restart",
        timeoutMs: 10_000,
      });
      await env.waitRecord(next, (j) => j.state.status === "completed", "new fire after restart", 15_000);
      // the in-flight fire was either completed once or redelivered and completed: never lost
      expect(runs).toBeGreaterThanOrEqual(1);
      const log = await env.runLog(def);
      expect(log.filter((e) => e.outcome === "succeeded").length).toBeGreaterThanOrEqual(1);
    },
  );
});
