import { describe, expect, it } from "vitest";
import { Counter, natsReadiness, Registry, startOpsServer } from "@taskjet/observability";
import { connectTo, useNatsServer } from "@taskjet/testing";

const nats = useNatsServer();

describe("ops server", () => {
  it("serves metrics, health and real readiness", async () => {
    const registry = new Registry();
    const fires = new Counter({ name: "taskjet_test_fires_total", help: "t", registers: [registry] });
    fires.inc(3);
    let storeDown = false;
    const ops = await startOpsServer({
      port: 0,
      host: "127.0.0.1",
      registry,
      checks: { nats: natsReadiness(nats.nc), store: () => (storeDown ? "store unreachable" : undefined) },
    });
    const base = `http://127.0.0.1:${ops.port}`;
    expect(await (await fetch(`${base}/metrics`)).text()).toContain("taskjet_test_fires_total 3");
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    storeDown = true;
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: "not ready", failures: { store: "store unreachable" } });
    storeDown = false;
    const conn = await connectTo(nats.server.url);
    const check = natsReadiness(conn);
    expect(await check()).toBeUndefined();
    await conn.close();
    expect(await check()).toBe("NATS connection closed");
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    await ops.close();
  });
});
