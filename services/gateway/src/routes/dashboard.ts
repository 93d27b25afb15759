/**
 * The web dashboard (services/dashboard, a static single-page app) and the routes only it needs:
 *
 *   GET  /  /dashboard/...                   the app's page and assets (open: it signs in with a token)
 *   GET  /dashboard/config.json              open: whether the app must ask for a token (no other facts)
 *   GET  /v1/dashboard/session               the caller's role (`full` or `read`) and tenant
 *   GET  /v1/dashboard/overview              scheduler status, consumer lag, dead-letter count, and the
 *                                            last hour of sampled rates and lateness (overviewSampler.ts)
 *   GET  /v1/dead-letters?after&limit        the tenant's dead letters, oldest first (deadLetters.ts)
 *   GET  /v1/dead-letters/:seq               one of them
 *   POST /v1/dead-letters/:seq/requeue       run the letter's job again (see requeue()), then remove the letter
 *   DELETE /v1/dead-letters/:seq             discard it
 *   GET  /v1/events/stream?jobId&group&type&phases   server-sent events: the tenant's job events
 *   GET  /v1/cron/next?cron&cronDialect&timeZone&dstRule&count   next fire times, DST shifts marked
 *
 * A read-only token reaches every GET here; POST and DELETE answer 403 PERMISSION_DENIED (readOnly.ts).
 */
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { FastifyInstance } from "fastify";
import fastifyStatic from "@fastify/static";
import { z } from "zod";
import {
  cronDialects,
  dstRules,
  eventPhases,
  FailedPreconditionError,
  isTaskjetError,
  nextFireTimes,
  parseOrThrow,
  printableName,
  token,
  UnavailableError,
  type EventPhase,
} from "@taskjet/protocol";
import type { TaskjetClient } from "@taskjet/client";
import { DeadLetterStore } from "../dashboard/deadLetters.js";
import { OverviewSampler } from "../dashboard/overviewSampler.js";
import { roleOf } from "../readOnly.js";
import { intQuery } from "./params.js";

const DASHBOARD_PREFIX = "/dashboard/";
const KEEPALIVE_MS = 15_000;

/** Paths of the app itself (page, scripts, styles), served without authentication. */
export function isDashboardPath(path: string): boolean {
  return path === "/" || path === "/dashboard" || path.startsWith(DASHBOARD_PREFIX);
}

/** The built app (`services/dashboard/dist`), found through the workspace package; undefined when unbuilt. */
export function dashboardAssetsDir(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve("@taskjet/dashboard/package.json");
    const dir = join(dirname(pkg), "dist");
    return existsSync(join(dir, "index.html")) ? dir : undefined;
  } catch {
    return undefined;
  }
}

const SeqParamsSchema = z.strictObject({ seq: intQuery("seq", 1, Number.MAX_SAFE_INTEGER) });
const DeadLetterQuerySchema = z.strictObject({
  after: intQuery("after", 0, Number.MAX_SAFE_INTEGER).default(0),
  limit: intQuery("limit", 1, 200).default(50),
});
const EventStreamQuerySchema = z.strictObject({
  jobId: token("jobId", 128).optional(),
  group: printableName("group").optional(),
  type: printableName("type").optional(),
  /** comma-separated phases, e.g. `before,after` */
  phases: z
    .string()
    .transform((s) => s.split(",").map((p) => p.trim()))
    .pipe(
      z
        .array(z.enum(eventPhases, { error: `phases must be among ${eventPhases.join(", ")}` }))
        .min(1, "phases must name at least one phase"),
    )
    .optional(),
});
const CronQuerySchema = z.strictObject({
  cron: z.string({ error: "cron is required" }).min(1, "cron is required").max(200),
  cronDialect: z.enum(cronDialects).default("quartz"),
  timeZone: z.string().max(64).default("UTC"),
  dstRule: z.enum(dstRules).default("single-value"),
  count: intQuery("count", 1, 50).default(10),
});

export function dashboardRoutes(
  app: FastifyInstance,
  client: TaskjetClient,
  opts: { sampleSeconds: number; authRequired: boolean },
): void {
  const deadLetters = new DeadLetterStore(client.nc, client.ns, client.tenant);
  const sampler = new OverviewSampler(client, opts.sampleSeconds, (err) =>
    app.log.warn({ err }, "dashboard: an event could not be read"),
  );
  const streams = new Set<() => void>();
  app.addHook("onReady", async () => sampler.start());
  // server-sent event streams never go idle: end them before the server waits for its connections
  app.addHook("preClose", async () => {
    for (const end of streams) end();
  });
  app.addHook("onClose", async () => sampler.stop());

  const root = dashboardAssetsDir();
  if (root) {
    void app.register(fastifyStatic, {
      root,
      prefix: DASHBOARD_PREFIX,
      index: "index.html",
      // hashed asset names never change their content; the page itself is always asked again
      setHeaders: (reply, path) =>
        reply.header(
          "cache-control",
          path.endsWith(".html") ? "no-cache" : "public, max-age=31536000, immutable",
        ),
    });
  } else {
    app.get(`${DASHBOARD_PREFIX}*`, async () => {
      throw new UnavailableError(
        "the dashboard is not built: run `npm run build` (services/dashboard) and restart the gateway",
      );
    });
  }
  // the app asks before its first API call, so a signed-out visit makes no 401 request
  app.get(`${DASHBOARD_PREFIX}config.json`, async () => ({ authRequired: opts.authRequired }));
  app.get("/", async (_req, reply) => reply.redirect(DASHBOARD_PREFIX));
  app.get("/dashboard", async (_req, reply) => reply.redirect(DASHBOARD_PREFIX));

  app.get("/v1/dashboard/session", async (req) => ({ role: roleOf(req), tenant: client.tenant }));

  app.get("/v1/dashboard/overview", async () => {
    const [status, consumers, deadLetterCount] = await Promise.all([
      client.scheduler.status(),
      client.cluster.consumers(),
      deadLetters.count(),
    ]);
    return {
      status,
      consumers,
      deadLetters: deadLetterCount,
      sampleSeconds: sampler.sampleSeconds,
      samples: sampler.samples(),
    };
  });

  app.get("/v1/dead-letters", async (req) => {
    const { after, limit } = parseOrThrow(DeadLetterQuerySchema, req.query ?? {});
    const [page, total] = await Promise.all([deadLetters.list(after, limit), deadLetters.count()]);
    return { ...page, total };
  });

  app.get("/v1/dead-letters/:seq", async (req) => {
    const { seq } = parseOrThrow(SeqParamsSchema, req.params);
    return { deadLetter: await deadLetters.get(seq) };
  });

  app.post("/v1/dead-letters/:seq/requeue", async (req) => {
    const { seq } = parseOrThrow(SeqParamsSchema, req.params);
    const letter = await deadLetters.get(seq);
    await requeue(client, letter.jobId, seq);
    await deadLetters.remove(seq);
    return { seq, jobId: letter.jobId, requeued: true, job: await client.scheduler.get(letter.jobId) };
  });

  app.delete("/v1/dead-letters/:seq", async (req, reply) => {
    const { seq } = parseOrThrow(SeqParamsSchema, req.params);
    await deadLetters.remove(seq);
    return reply.code(204).send();
  });

  app.get("/v1/cron/next", async (req) => {
    const q = parseOrThrow(CronQuerySchema, req.query ?? {});
    const times = nextFireTimes(
      { expression: q.cron, dialect: q.cronDialect, timeZone: q.timeZone, dstRule: q.dstRule },
      q.count,
      Date.now(),
    );
    return { times };
  });

  app.get("/v1/events/stream", async (req, reply) => {
    const q = parseOrThrow(EventStreamQuerySchema, req.query ?? {});
    const filter = {
      ...(q.jobId ? { jobId: q.jobId } : {}),
      ...(q.group ? { group: q.group } : {}),
      ...(q.type ? { type: q.type } : {}),
      ...(q.phases ? { phases: q.phases as EventPhase[] } : {}),
    };
    // headers first: an event may arrive while the subscription is being registered
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    const write = (text: string) => {
      // an event can still arrive between the client leaving and the subscription closing
      if (!res.writableEnded && !res.destroyed) res.write(text);
    };
    const sub = client.events.on(
      filter,
      (e) => write(`id: ${e.id}\nevent: job\ndata: ${JSON.stringify(e)}\n\n`),
      (err) => app.log.warn({ err }, "dashboard: an event could not be read"),
    );
    const keepalive = setInterval(() => write(": keepalive\n\n"), KEEPALIVE_MS);
    const end = () => {
      clearInterval(keepalive);
      streams.delete(end);
      void sub.close();
      if (!res.writableEnded) res.end();
    };
    streams.add(end);
    req.raw.on("close", end);
    try {
      await sub.ready();
      // the client knows the subscription is in place: events published from now on arrive
      write(": subscribed\n\n");
    } catch (err) {
      app.log.warn({ err }, "dashboard: the event stream could not subscribe");
      end();
    }
  });
}

/**
 * Runs a dead letter's job again through the control API, as an operator would: a job given up on is
 * `stopped` (abandoned), so it is started (tries reset; a once job fires again at once) and, when it is
 * recurring, triggered too (start resumes its schedule from now without a fire); an active job is
 * triggered. A paused, completed or removed job is refused: resume it, or queue a new job.
 */
async function requeue(client: TaskjetClient, jobId: string, seq: number): Promise<void> {
  const scheduler = client.scheduler;
  const job = await scheduler.get(jobId).catch((err: unknown) => {
    if (isTaskjetError(err) && err.code === "NOT_FOUND") {
      throw new FailedPreconditionError(
        `job ${jobId} of dead letter ${seq} no longer exists: nothing to requeue, discard the letter`,
        { field: "seq", cause: err },
      );
    }
    throw err;
  });
  if (job.status === "paused" || job.status === "completed") {
    throw new FailedPreconditionError(
      `job ${jobId} is ${job.status}: ${job.status === "paused" ? "resume it" : "queue a new job"} to run it again`,
      { field: "seq" },
    );
  }
  const ops: ("start" | "trigger")[] =
    job.status === "stopped" ? (job.jobType === "once" ? ["start"] : ["start", "trigger"]) : ["trigger"];
  for (const op of ops) {
    const failed = (await scheduler.bulk(op, jobId)).results.find((x) => !x.ok);
    if (failed?.error) {
      throw new FailedPreconditionError(`job ${jobId}: ${op} was refused: ${failed.error.message}`, {
        field: "seq",
      });
    }
  }
}
