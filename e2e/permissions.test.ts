// deploy/nats/ as committed: nats-server runs taskjet.conf (passwords) and taskjet-nkeys.conf (nkeys) with
// permissions.conf, only the store dir and the secrets substituted. Under each, every role does its work (a
// job tenant acme queues runs on the worker of node n1 and its events reach acme), and every act outside a
// role is refused by the server: a worker's control calls and other nodes' fires, a tenant's requests for
// another tenant, its reads of the job store, other inboxes and other tenants' events.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { nkeys, PermissionViolationError, type NatsConnection } from "@nats-io/nats-core";
import { TaskjetClient, type JobEvent } from "@taskjet/client";
import { connectNats, natsConfigFromEnv, type NatsConfigInput } from "@taskjet/nats";
import { SchedulerService } from "@taskjet/scheduler";
import { GatewayService } from "@taskjet/gateway";
import { createWorker, type Worker } from "@taskjet/worker-runtime";
import { startNats, waitFor, type NatsServerFixture } from "@taskjet/testing";

const deploy = fileURLToPath(new URL("../deploy/nats/", import.meta.url));
const logger = pino({ level: process.env["TEST_LOG_LEVEL"] ?? "silent" });
const te = new TextEncoder();

/** The users of deploy/nats/*.conf: the name in the password file, the env-name part, the inbox prefix. */
const roles = {
  scheduler: { user: "scheduler", env: "SCHEDULER", inboxPrefix: "_INBOX_scheduler" },
  worker: { user: "worker-n1", env: "WORKER_N1", inboxPrefix: "_INBOX_worker_n1" },
  gateway: { user: "gateway", env: "GATEWAY", inboxPrefix: "_INBOX_gateway" },
  acme: { user: "tenant-acme", env: "TENANT_ACME", inboxPrefix: "_INBOX_tenant_acme" },
  globex: { user: "tenant-globex", env: "TENANT_GLOBEX", inboxPrefix: "_INBOX_tenant_globex" },
} as const;
type Role = keyof typeof roles;

interface Variant {
  file: string;
  /** secrets for the server, as the environment variables the config names */
  serverEnv: Record<string, string>;
  /** connection settings of a role */
  settings: (role: Role) => NatsConfigInput;
}

function passwordVariant(): Variant {
  const passwords = Object.fromEntries(
    Object.keys(roles).map((r) => [r, `pw-${r}-${Math.random().toString(36).slice(2)}`]),
  ) as Record<Role, string>;
  return {
    file: "taskjet.conf",
    serverEnv: Object.fromEntries(
      Object.entries(roles).map(([r, v]) => [`TASKJET_${v.env}_PASSWORD`, passwords[r as Role]]),
    ),
    settings: (role) => ({
      user: roles[role].user,
      password: passwords[role],
      inboxPrefix: roles[role].inboxPrefix,
    }),
  };
}

function nkeyVariant(): Variant {
  // fresh user keys per run: the config names only public keys, the seeds never leave this process
  const pairs = Object.fromEntries(Object.keys(roles).map((r) => [r, nkeys.createUser()])) as Record<
    Role,
    ReturnType<typeof nkeys.createUser>
  >;
  return {
    file: "taskjet-nkeys.conf",
    serverEnv: Object.fromEntries(
      Object.entries(roles).map(([r, v]) => [`TASKJET_${v.env}_NKEY`, pairs[r as Role].getPublicKey()]),
    ),
    settings: (role) => ({
      nkeySeed: new TextDecoder().decode(pairs[role].getSeed()),
      inboxPrefix: roles[role].inboxPrefix,
    }),
  };
}

/** Starts nats-server with the committed config; only its store dir is replaced (and secrets come from env). */
async function startConfigured(v: Variant, dir: string): Promise<NatsServerFixture> {
  const committed = readFileSync(join(deploy, v.file), "utf8");
  const config = committed.replace(/store_dir: "[^"]*"/, `store_dir: "${join(dir, "store")}"`);
  expect(config).not.toBe(committed);
  writeFileSync(join(dir, v.file), config);
  copyFileSync(join(deploy, "permissions.conf"), join(dir, "permissions.conf"));
  // nats-server reads the variables the config does not define from its environment (inherited on spawn)
  Object.assign(process.env, v.serverEnv);
  return startNats({ jetstream: false, args: ["-c", join(dir, v.file)] });
}

/** Resolves with the error a request got; fails the test if it was answered. */
async function requestError(nc: NatsConnection, subject: string, body = "{}"): Promise<unknown> {
  return nc.request(subject, te.encode(body), { timeout: 3_000 }).then(
    (m) => expect.fail(`${subject} was answered: ${new TextDecoder().decode(m.data)}`),
    (err: unknown) => err,
  );
}

/** The server refused to publish on `subject`: the request failed with a publish permission violation. */
async function expectPublishRefused(nc: NatsConnection, subject: string, body?: string): Promise<void> {
  const err = await requestError(nc, subject, body);
  // nats.js wraps it in a RequestError (`cause`) when the request went through its shared inbox
  const violation = err instanceof PermissionViolationError ? err : (err as Error).cause;
  expect(violation, subject).toBeInstanceOf(PermissionViolationError);
  expect((violation as PermissionViolationError).operation).toBe("publish");
}

/** The server refused a subscription to `subject` (it closes the subscription with a violation). */
async function expectSubscribeRefused(nc: NatsConnection, subject: string): Promise<void> {
  const sub = nc.subscribe(subject);
  const closed = await Promise.race([
    sub.closed,
    new Promise((r) => setTimeout(() => r("still open after 3 s"), 3_000)),
  ]);
  expect(closed, subject).toBeInstanceOf(PermissionViolationError);
}

const env = { ...process.env };

describe.skipIf(process.env["NATS_URL"])("deploy/nats permissions", () => {
  afterAll(() => {
    for (const k of Object.keys(process.env)) if (!(k in env)) delete process.env[k];
  });

  describe.each([
    ["passwords", passwordVariant],
    ["nkeys", nkeyVariant],
  ])("with %s", (_name, makeVariant) => {
    const v = makeVariant();
    const dir = mkdtempSync(join(tmpdir(), "taskjet-perms-"));
    let nats: NatsServerFixture;
    let scheduler: SchedulerService;
    let worker: Worker;
    let acme: TaskjetClient;
    let gateway: TaskjetClient;
    const conns: NatsConnection[] = [];
    const ran: unknown[] = [];
    /** what the server refused to the roles' own connections while they worked: must stay empty */
    const violations: string[] = [];
    const as = (role: Role): NatsConfigInput => ({ servers: [nats.url], ...v.settings(role) });
    const connectAs = async (role: Role) => {
      const nc = await connectNats(natsConfigFromEnv({}, as(role)));
      conns.push(nc);
      return nc;
    };
    /** a role's working connection; a violation on it is a permission the role lacks */
    const workingConnection = async (role: Role) => {
      const nc = await connectAs(role);
      void (async () => {
        for await (const s of nc.status())
          if (s.type === "error" && s.error instanceof PermissionViolationError)
            violations.push(`${role}: ${s.error.message}`);
      })();
      return nc;
    };

    beforeAll(async () => {
      nats = await startConfigured(v, dir);
      scheduler = new SchedulerService({
        nats: await workingConnection("scheduler"),
        prefix: "taskjet",
        logger,
        leaseTtlMs: 1_000,
      });
      await scheduler.start();
      worker = createWorker({
        nc: await workingConnection("worker"),
        prefix: "taskjet",
        node: "n1",
        idlePollMs: 1_000,
        heartbeatMs: 1_000,
        topology: { create: false },
        logger,
      });
      // a built-in type's name (the committed permissions list console, http and sleep) with a test handler
      worker.register("console", async (ctx) => {
        ran.push(ctx.args);
        return { ok: true };
      });
      await worker.start();
      acme = TaskjetClient.fromConnection(await workingConnection("acme"), { tenant: "acme" });
      gateway = TaskjetClient.fromConnection(await workingConnection("gateway"), { tenant: "acme" });
      await waitFor(() => scheduler.isLeader(), { timeoutMs: 10_000, message: "a leader" });
    });

    afterAll(async () => {
      await worker?.stop();
      await scheduler?.stop();
      await Promise.all(conns.map((c) => c.close()));
      await nats?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it("every role does its work: acme's job runs on the worker of n1 and acme hears its events", async () => {
      const events: JobEvent[] = [];
      const sub = acme.events.on({ jobId: "hello" }, (e) => {
        events.push(e);
      });
      await sub.ready();
      const queued = await acme.scheduler.queue({
        id: "hello",
        name: "hello",
        type: "console",
        nodeName: "n1",
        args: { secret: "acme only" },
      });
      expect(queued.created).toBe(true);
      await waitFor(() => events.some((e) => e.phase === "after"), {
        timeoutMs: 20_000,
        message: "acme hears the after event of its job",
      });
      expect(ran).toEqual([{ secret: "acme only" }]);
      expect((await acme.scheduler.get("hello")).status).toBe("completed");
      // the run log: written by the worker, read back by the scheduler for acme
      await expect
        .poll(async () => (await acme.scheduler.logs("hello")).length, { timeout: 10_000 })
        .toBeGreaterThan(0);
      await sub.close();
      // the worker reads a job from the bucket's stream leader (a redelivered fire, a lagging replica)
      const wnc = await workingConnection("worker");
      const reply = await wnc.request(
        "$JS.API.STREAM.MSG.GET.KV_taskjet-jobs",
        JSON.stringify({ last_by_subj: "$KV.taskjet-jobs.acme.default.hello" }),
      );
      expect((reply.json<{ message?: { seq: number } }>().message?.seq ?? 0) > 0).toBe(true);
    });

    it("the gateway reaches every tenant, the scheduler's status and the cluster views", async () => {
      expect((await gateway.scheduler.get("hello")).id).toBe("hello");
      expect((await gateway.forTenant("globex").scheduler.list()).jobs).toEqual([]);
      expect((await gateway.scheduler.status()).leader).toBeDefined();
      await gateway.cluster.checkStore();
      await expect.poll(async () => (await gateway.cluster.types()).map((t) => t.type)).toContain("console");
      expect((await gateway.cluster.consumers()).map((c) => c.name)).toContain("taskjet-node2-n1-console-p3");
    });

    it("the gateway's dashboard reads and discards acme's dead letters", async () => {
      // a message naming acme's job but no fire, on acme's run subject of n1: the worker dead-letters it
      // (poison) to taskjet.dlq.acme.bad-fire
      const snc = await workingConnection("scheduler");
      snc.publish(
        "taskjet.run.acme.n1.console.p3.bad-fire",
        te.encode(JSON.stringify({ tenantId: "acme", jobId: "bad-fire" })),
      );
      const dashboard = new GatewayService({
        connection: gateway.nc,
        nats: { prefix: "taskjet" },
        tenant: "acme",
        port: 0,
        host: "127.0.0.1",
        insecureDev: true,
        env: {},
      });
      const url = (await dashboard.start()).url;
      try {
        let letters: { seq: number; letter: { reason: string } | null }[] = [];
        await waitFor(
          async () => {
            letters = ((await (await fetch(`${url}/v1/dead-letters`)).json()) as { letters: typeof letters })
              .letters;
            return letters.length > 0;
          },
          { timeoutMs: 20_000, message: "acme's poison dead letter listed through the gateway" },
        );
        expect(letters[0]?.letter?.reason).toBe("poison");
        const overview = (await (await fetch(`${url}/v1/dashboard/overview`)).json()) as {
          deadLetters: number;
        };
        expect(overview.deadLetters).toBe(letters.length);
        const del = await fetch(`${url}/v1/dead-letters/${letters[0]?.seq}`, { method: "DELETE" });
        expect(del.status).toBe(204);
      } finally {
        await dashboard.stop();
      }
    });

    it("workers ask each other who holds a redelivered fire, and the holder's answer reaches the asker", async () => {
      // the worker running above serves the question too: it holds nothing, so it stays silent
      const holder = await workingConnection("worker");
      const asker = await workingConnection("worker");
      const te = new TextEncoder();
      holder.subscribe("taskjet.ctl._held", {
        callback: (_e, m) => {
          if ((m.json() as { fireId: string }).fireId === "acme:held:1")
            m.respond(te.encode(JSON.stringify({ state: "running", worker: "holder" })));
        },
      });
      await holder.flush();
      const q = (fireId: string) =>
        te.encode(JSON.stringify({ fireId, attempt: 1, key: "acme.default.held" }));
      const answer = await asker.request("taskjet.ctl._held", q("acme:held:1"), { timeout: 3_000 });
      expect(answer.json()).toEqual({ state: "running", worker: "holder" });
      await expect(asker.request("taskjet.ctl._held", q("acme:held:2"), { timeout: 500 })).rejects.toThrow();
      // a tenant cannot ask or listen
      const tenant = await connectAs("acme");
      await expectPublishRefused(tenant, "taskjet.ctl._held", '{"fireId":"x","attempt":1,"key":"k"}');
      await expectSubscribeRefused(tenant, "taskjet.ctl._held");
      expect(violations).toEqual([]);
    });

    it("a worker cannot call control operations nor read another node's fires", async () => {
      const nc = await connectAs("worker");
      await expectPublishRefused(nc, "taskjet.api.acme.list");
      await expectPublishRefused(nc, "taskjet.sys.scheduler.status");
      await expectPublishRefused(
        nc,
        "$JS.API.CONSUMER.MSG.NEXT.taskjet-run.taskjet-node2-n2-console-p3",
        '{"batch":1}',
      );
      await expectPublishRefused(
        nc,
        "$JS.API.CONSUMER.CREATE.taskjet-run.taskjet-node2-n2-console-p3.taskjet.run.*.n2.console.p3.*",
      );
      // its own consumer's name with another node's filter: not a subject it may use
      await expectPublishRefused(
        nc,
        "$JS.API.CONSUMER.CREATE.taskjet-run.taskjet-node2-n1-console-p3.taskjet.run.*.n2.console.p3.*",
      );
      // a job type its node is not allowed to run
      await expectPublishRefused(
        nc,
        "$JS.API.CONSUMER.CREATE.taskjet-run.taskjet-node2-n1-other-p3.taskjet.run.*.n1.other.p3.*",
      );
      await expectPublishRefused(nc, "$JS.API.STREAM.MSG.GET.taskjet-run", '{"seq":1}');
      await expectPublishRefused(nc, "$JS.API.STREAM.DELETE.taskjet-run");
      await expectSubscribeRefused(nc, "taskjet.run.*.n2.>");
      await expectSubscribeRefused(nc, "taskjet.ctl.n2");
      await expectSubscribeRefused(nc, "_INBOX_scheduler.>");
    });

    it("a worker's allowed consumer subject with another node's filter in the body is refused by the server", async () => {
      const nc = await connectAs("worker");
      const subject =
        "$JS.API.CONSUMER.CREATE.taskjet-run.taskjet-node2-n1-console-p3.taskjet.run.*.n1.console.p3.*";
      const body = JSON.stringify({
        stream_name: "taskjet-run",
        config: {
          durable_name: "taskjet-node2-n1-console-p3",
          filter_subject: "taskjet.run.*.n2.console.p3.*",
          ack_policy: "explicit",
        },
      });
      const reply = await nc.request(subject, te.encode(body), { timeout: 3_000 });
      const answer = JSON.parse(new TextDecoder().decode(reply.data)) as { error?: { description: string } };
      expect(answer.error?.description).toMatch(/filter/i);
    });

    it("tenant acme reaches neither globex nor the store, other inboxes nor other tenants' events", async () => {
      const nc = await connectAs("acme");
      await expectPublishRefused(nc, "taskjet.api.globex.list");
      await expectPublishRefused(nc, "taskjet.sys.scheduler.status");
      await expectPublishRefused(nc, "$JS.API.STREAM.INFO.KV_taskjet-jobs");
      await expectPublishRefused(
        nc,
        "$JS.API.DIRECT.GET.KV_taskjet-jobs",
        '{"last_by_subj":"$KV.taskjet-jobs.globex.default.x"}',
      );
      await expectPublishRefused(nc, "$JS.API.CONSUMER.CREATE.KV_taskjet-jobs");
      await expectSubscribeRefused(nc, "$KV.taskjet-jobs.>");
      await expectSubscribeRefused(nc, "_INBOX_tenant_globex.>");
      await expectSubscribeRefused(nc, "_INBOX.>");
      await expectSubscribeRefused(nc, "taskjet.evt.globex.>");
      await expectSubscribeRefused(nc, "taskjet.evt.>");
      await expectSubscribeRefused(nc, "taskjet.run.>");
    });

    it("no role was refused anything while it worked", () => {
      expect(violations).toEqual([]);
    });
  });
});
