/**
 * The control API, served by EVERY replica (leader or not) in queue group `<p>-api`:
 *
 *   <p>.api.<tenant>.<op>            op: queue queueMany exists get list update trigger pause resume remove
 *                                   start stop logs (request/reply; see protocol api.ts for bodies)
 *   <p>.sys.scheduler.<op>           op: status standby activate shutdown; queue group `<p>-sys`, so ONE
 *                                   replica answers (status is the same from any)
 *   <p>.sys.scheduler.<op>.<replica> the same, addressed to one replica (standby/activate/shutdown a given
 *                                   replica; to shut every replica down, send to each of them)
 *
 * The tenant is the 3rd token of the subject. Requests are JSON or msgpack by Content-Type and the reply
 * uses the caller's encoding (serveRequests); every error is a typed envelope with a stable code.
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Logger } from "pino";
import { z } from "zod";
import { serveRequests } from "@taskjet/nats";
import {
  apiOps,
  CONTENT_TYPE_HEADER,
  parseOrThrow,
  requestEncodingOf,
  sysOps,
  TaskjetError,
  TOKEN_PATTERN,
  ValidationError,
  type ApiOp,
  type Namespace,
  type SchedulerStatus,
  type SysOp,
} from "@taskjet/protocol";
import type { JobCommands } from "./jobCommands.js";
import { lifecycleOps, type LifecycleCommands, type LifecycleOp } from "./lifecycleCommands.js";
import { asStoreOutage } from "./storeOutage.js";

export interface SysHandlers {
  status(): Promise<SchedulerStatus>;
  standby(): Promise<void>;
  activate(): Promise<void>;
  shutdown(): Promise<void>;
}

const EmptySchema = z.strictObject({}).optional();

function rethrowOutage(err: unknown): never {
  throw asStoreOutage(err);
}

export class ApiServer {
  private subs: Subscription[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly ns: Namespace,
    private readonly jobs: JobCommands,
    private readonly life: LifecycleCommands,
    private readonly sys: SysHandlers,
    private readonly opts: { replicaId: string; log: Logger },
  ) {}

  start(): void {
    if (this.subs.length > 0) return;
    const onError = (err: unknown, msg: Msg) => {
      if (err instanceof TaskjetError && err.code !== "INTERNAL") {
        this.opts.log.debug({ subject: msg.subject, code: err.code, field: err.field }, err.message);
      } else {
        this.opts.log.warn({ subject: msg.subject, err }, "API request failed");
      }
    };
    const p = this.ns.prefix;
    this.subs.push(
      // a store request JetStream could not answer is retryable for the caller (storeOutage.ts)
      serveRequests(this.nc, this.ns.apiAll, (body, msg) => this.api(body, msg).catch(rethrowOutage), {
        queue: `${p}-api`,
        onError,
      }),
      serveRequests(this.nc, `${p}.sys.scheduler.*`, (body, msg) => this.admin(body, msg, 3), {
        queue: `${p}-sys`,
        onError,
      }),
      serveRequests(
        this.nc,
        `${p}.sys.scheduler.*.${this.opts.replicaId}`,
        (body, msg) => this.admin(body, msg, 3),
        {
          onError,
        },
      ),
    );
  }

  /** Stops taking requests (requests in progress still get their answer). */
  stop(): void {
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
  }

  private async api(body: unknown, msg: Msg): Promise<unknown> {
    const parts = msg.subject.split(".");
    const tenant = parts[2] ?? "";
    const op = parts[3] ?? "";
    if (!TOKEN_PATTERN.test(tenant)) {
      throw new ValidationError(
        `tenant "${tenant}" in the subject may contain only letters, digits, "_" and "-"`,
        {
          field: "tenant",
        },
      );
    }
    if (!(apiOps as readonly string[]).includes(op)) {
      throw new ValidationError(`unknown operation "${op}": use one of ${apiOps.join(", ")}`, {
        field: "op",
      });
    }
    // list and logs size their pages in the encoding the reply goes out in (serveRequests checked it)
    const encoding = requestEncodingOf(msg.headers?.get(CONTENT_TYPE_HEADER), msg.data);
    switch (op as ApiOp) {
      case "queue":
        return this.jobs.queue(tenant, body);
      case "queueMany":
        return this.jobs.queueMany(tenant, body);
      case "exists":
        return this.jobs.exists(tenant, body);
      case "get":
        return this.jobs.get(tenant, body);
      case "list":
        return this.jobs.list(tenant, body, encoding);
      case "update":
        return this.jobs.update(tenant, body);
      case "logs":
        return this.jobs.logs(tenant, body, encoding);
      default:
        if ((lifecycleOps as readonly string[]).includes(op))
          return this.life.run(op as LifecycleOp, tenant, body);
        throw new ValidationError(`unknown operation "${op}"`, { field: "op" });
    }
  }

  private async admin(body: unknown, msg: Msg, opIndex: number): Promise<unknown> {
    const op = msg.subject.split(".")[opIndex] ?? "";
    if (!(sysOps as readonly string[]).includes(op)) {
      throw new ValidationError(`unknown admin operation "${op}": use one of ${sysOps.join(", ")}`, {
        field: "op",
      });
    }
    parseOrThrow(EmptySchema, body ?? undefined);
    const replicaId = this.opts.replicaId;
    switch (op as SysOp) {
      case "status":
        return this.sys.status();
      case "standby":
        await this.sys.standby();
        return { replicaId, role: "standby" };
      case "activate":
        await this.sys.activate();
        return { replicaId, role: "follower" };
      case "shutdown":
        // answer first: the stop closes the subscription this reply would go out on
        setImmediate(() => void this.sys.shutdown());
        return { replicaId, stopping: true };
    }
  }
}
