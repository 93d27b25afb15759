// Publish actions end to end (issue 13): queued through the client, checked by the scheduler, run and
// published by the worker — inside the tenant's event namespace and an operator-allowed subject, nothing else.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { TaskjetClient } from "@taskjet/client";
import { SchedulerService } from "@taskjet/scheduler";
import { createWorker, type ActionPayload, type Worker } from "@taskjet/worker-runtime";
import { startNats, uniqueName, waitFor, type NatsServerFixture } from "@taskjet/testing";

const logger = pino({ level: "silent" });
const actionSubjectAllow = ["partner.*.done"];
let nats: NatsServerFixture;
let scheduler: SchedulerService;
let worker: Worker;
let client: TaskjetClient;
const prefix = uniqueName("pub");

beforeAll(async () => {
  nats = await startNats();
  const natsConfig = { servers: [nats.url], prefix };
  scheduler = new SchedulerService({ natsConfig, logger, actionSubjectAllow });
  worker = createWorker({ nats: natsConfig, node: "n1", logger, idlePollMs: 1000, actionSubjectAllow });
  worker.register("noop", async () => "done");
  await Promise.all([scheduler.start(), worker.start()]);
  client = await TaskjetClient.connect({ servers: [nats.url], prefix, tenant: "acme" });
  await waitFor(() => scheduler.isLeader(), { message: "leader" });
});

afterAll(async () => {
  await client?.close();
  await worker?.stop();
  await scheduler?.stop();
  await nats?.stop();
});

describe("publish actions", () => {
  it("deliver to the tenant's own events and to allowed subjects; anything else is refused at queue time", async () => {
    const own = `${prefix}.evt.acme.action.${uniqueName("own")}`;
    const partner = `partner.${uniqueName("p")}.done`;
    const got: { subject: string; payload: ActionPayload }[] = [];
    const subs = [own, partner].map((s) =>
      worker.connection.subscribe(s, {
        callback: (_e, m) => void got.push({ subject: m.subject, payload: m.json<ActionPayload>() }),
      }),
    );
    await worker.connection.flush();
    const r = await client.scheduler.queue({
      id: "notify",
      name: "notify",
      type: "noop",
      actions: [own, partner].map((subject) => ({ kind: "publish", on: ["completed"], subject })),
    });
    expect(r.created).toBe(true);
    await waitFor(() => got.length === 2, { message: "both publish actions delivered" });
    for (const s of subs) s.unsubscribe();
    expect(got.map((g) => g.subject).sort()).toEqual([own, partner].sort());
    expect(got[0]!.payload).toMatchObject({
      trigger: "completed",
      event: { tenantId: "acme", result: "done" },
    });

    const err = await client.scheduler
      .queue({
        id: "evil",
        name: "evil",
        type: "noop",
        actions: [{ kind: "publish", on: ["completed"], subject: `$KV.${prefix}-jobs.other.default.x` }],
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toMatchObject({ code: "INVALID_ARGUMENT", field: "actions.0.subject" });
    expect(await client.scheduler.exists("evil")).toBe(false);
  });
});
