/**
 * Issue 13 (tenancy): a job's `publish` action is the tenant's way onto the bus, so the control API refuses,
 * at queue and update time, every subject outside the tenant's own event namespace and the operator's
 * allow-list (INVALID_ARGUMENT naming `actions.<i>.subject`, nothing stored). Found by a probe: a tenant
 * overwrote another tenant's job through `$KV.<p>-jobs.<other>...` and churned the leader epoch through
 * the lease bucket.
 */
import { describe, expect, it } from "vitest";
import { TaskjetError, type JobView, type QueueResult } from "@taskjet/protocol";
import type { SchedulerService } from "../src/index.js";
import {
  api,
  cleanups,
  iso,
  namespace,
  nc,
  snapshot,
  startLeader,
  testOptions,
  uniqueName,
  useNatsServer,
} from "./harness.js";

useNatsServer();

const FAR = iso(Date.now() + 365 * 86_400_000);

async function leader(extra: { actionSubjectAllow?: string[] } = {}) {
  const prefix = uniqueName("as");
  const service: SchedulerService = await startLeader(testOptions(nc, prefix, extra));
  cleanups.push(() => service.stop());
  const call = <T = unknown>(op: Parameters<typeof api>[2], body: unknown, tenant = "t1") =>
    api<T>(nc, prefix, op, body, { tenant });
  const job = (id: string, subject: string) => ({
    id,
    name: `job ${id}`,
    type: "mail",
    beginTime: FAR,
    actions: [{ kind: "publish", on: ["completed"], subject }],
  });
  /** Expects INVALID_ARGUMENT naming `field`, and the store unchanged. */
  const refused = async (op: "queue" | "queueMany" | "update", body: unknown, field: string) => {
    const before = await snapshot(nc, prefix);
    const err = await call(op, body).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, `${op} ${JSON.stringify(body)} should be refused`).toBeInstanceOf(TaskjetError);
    expect(err).toMatchObject({ code: "INVALID_ARGUMENT", field });
    expect(await snapshot(nc, prefix)).toEqual(before);
    return err as TaskjetError;
  };
  return { prefix, ns: namespace(prefix), service, call, job, refused };
}

describe("publish action subjects at queue time", () => {
  it("refuses another tenant's job key, the lease bucket, other tenants' events and internal subjects", async () => {
    const { ns, service, call, job, refused } = await leader();
    const victim = await call<QueueResult>("queue", job("victim", `${ns.prefix}.evt.t2.x`), "t2");
    expect(victim.created).toBe(true);
    const epoch = service.epoch;

    const jobsKey = `$KV.${ns.buckets.jobs}.${ns.jobKey({ tenantId: "t2", group: "default", id: "victim" })}`;
    const err = await refused("queue", job("a", jobsKey), "actions.0.subject");
    expect(err.message).toMatch(/reserved subject/);
    await refused("queue", job("b", `$KV.${ns.buckets.lease}.scheduler`), "actions.0.subject");
    const other = await refused("queue", job("c", `${ns.prefix}.evt.t2.action.done`), "actions.0.subject");
    expect(other.message).toMatch(/another tenant's event namespace/);
    for (const subject of [
      ns.api("t2", "remove"),
      ns.run("t1", undefined, "x", 5, "j1"),
      ns.ctl("_all"),
      ns.sys("shutdown"),
      "$JS.API.STREAM.DELETE.x",
      "_INBOX.x",
      "app.done",
    ]) {
      await refused("queue", job("d", subject), "actions.0.subject");
    }
    // the other tenant's job and the lease are as they were
    const got = await call<{ job: JobView }>("get", { id: "victim" }, "t2");
    expect(got.job.actions).toEqual([
      { kind: "publish", on: ["completed"], subject: `${ns.prefix}.evt.t2.x` },
    ]);
    expect(service.epoch).toBe(epoch);
  });

  it("queueMany and update name the refused action's field", async () => {
    const { ns, call, job, refused } = await leader();
    await refused(
      "queueMany",
      { jobs: [job("m1", `${ns.prefix}.evt.t1.ok`), job("m2", `$KV.${ns.buckets.lease}.scheduler`)] },
      "jobs.1.actions.0.subject",
    );
    await call("queue", job("u1", `${ns.prefix}.evt.t1.ok`));
    await refused(
      "update",
      {
        id: "u1",
        patch: {
          actions: [
            { kind: "webhook", on: ["failed"], url: "https://example.com/hook" },
            { kind: "publish", on: ["failed"], subject: `${ns.prefix}.api.t2.remove` },
          ],
        },
      },
      "patch.actions.1.subject",
    );
  });

  it("accepts the tenant's own event namespace and subjects the operator allowed", async () => {
    const { ns, call, job, refused } = await leader({ actionSubjectAllow: ["partner.*.done"] });
    const own = await call<QueueResult>("queue", job("own", `${ns.prefix}.evt.t1.action.done`));
    expect(own.created).toBe(true);
    const allowed = await call<QueueResult>("queue", job("ok", "partner.acme.done"));
    expect(allowed.created).toBe(true);
    await refused("queue", job("no", "partner.acme.started"), "actions.0.subject");
    // the allow-list never opens reserved or internal subjects
    const wide = await leader({ actionSubjectAllow: [">"] });
    await wide.refused(
      "queue",
      wide.job("k", `$KV.${wide.ns.buckets.jobs}.t2.default.x`),
      "actions.0.subject",
    );
    await wide.refused("queue", wide.job("e", `${wide.ns.prefix}.evt.t2.x`), "actions.0.subject");
  });
});
