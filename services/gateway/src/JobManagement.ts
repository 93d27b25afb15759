/**
 * The seed's TaskManagement rules on top of the client, independent of HTTP:
 * - name + group are unique within a tenant (create and rename are refused with ALREADY_EXISTS);
 * - only jobs whose schedule has ended (stopped, or completed) may be deleted unless forced (else
 *   FAILED_PRECONDITION): the scheduler's control API decides, so REST, the CLI and the SDK agree;
 * - job actions are edited as the job's `actions` array (read, change, `update`).
 *
 * The scheduler checks what only it can (a publish action's subject against the tenant and the operator's
 * allow-list) and names fields of an update `patch.<field>`; they are renamed to what the REST caller sent:
 * `<field>` for PATCH, the action's own field (`subject`) for the action routes.
 *
 * The name check and the read-change-write of actions are not atomic across gateways: the control API has
 * no compare-and-set on `update` yet, so two concurrent edits can race (see docs/rest.md).
 */
import { randomBytes } from "node:crypto";
import type { BulkResult, JobAction, JobInput, JobPatch, JobView } from "@taskjet/protocol";
import {
  AlreadyExistsError,
  JobActionSchema,
  NotFoundError,
  parseJobInput,
  parseOrThrow,
  JobPatchSchema,
  ValidationError,
} from "@taskjet/protocol";
import type { JobScheduler, Target } from "@taskjet/client";

export class JobManagement {
  constructor(private readonly scheduler: JobScheduler) {}

  /** Creates a job; `warnings` from the scheduler (e.g. no worker has registered its type yet). */
  async create(body: unknown): Promise<{ job: JobView; warnings?: string[] }> {
    const def = parseJobInput(body);
    const input = body as JobInput;
    if (input.tenantId !== undefined && input.tenantId !== this.scheduler.tenant) {
      throw new ValidationError(
        `tenantId must be "${this.scheduler.tenant}" (the gateway's tenant) or absent`,
        {
          field: "tenantId",
        },
      );
    }
    await this.assertNameFree(def.name, def.group);
    const r = await this.scheduler.queue(input);
    if (!r.created) throw new AlreadyExistsError(`job ${r.id} exists already`, { field: "id" });
    return r.warnings ? { job: r.job, warnings: r.warnings } : { job: r.job };
  }

  async update(id: string, body: unknown): Promise<JobView> {
    const patch = parseOrThrow(JobPatchSchema, body) as JobPatch;
    if (patch.name !== undefined) {
      const job = await this.scheduler.get(id);
      if (job.name !== patch.name) await this.assertNameFree(patch.name, job.group, id);
    }
    return this.scheduler.update(id, body as JobPatch).catch((err: unknown) => {
      throw refield(err, "patch.", "");
    });
  }

  /** Deletes a job whose schedule has ended, or any job with `force`; FAILED_PRECONDITION otherwise. */
  async remove(id: string, force = false): Promise<void> {
    await this.scheduler.remove(id, { force });
  }

  /** Deletes every selected job that may be deleted; the others get their error in the results. */
  async removeMany(target: Target, force = false): Promise<BulkResult> {
    return this.scheduler.remove(target, { force });
  }

  async actions(id: string): Promise<JobAction[]> {
    return (await this.scheduler.get(id)).actions;
  }

  async addAction(id: string, body: unknown): Promise<{ action: JobAction; job: JobView }> {
    const action = parseOrThrow(JobActionSchema, body);
    const job = await this.scheduler.get(id);
    const withId = { ...action, id: action.id ?? `act-${randomBytes(4).toString("hex")}` };
    if (job.actions.some((a) => a.id === withId.id)) {
      throw new AlreadyExistsError(`job ${id} has an action ${withId.id} already`, { field: "id" });
    }
    const updated = await this.scheduler
      .update(id, { actions: [...job.actions, withId] })
      .catch((err: unknown) => {
        throw refield(err, `patch.actions.${job.actions.length}.`, "");
      });
    return { action: withId, job: updated };
  }

  async replaceAction(
    id: string,
    actionId: string,
    body: unknown,
  ): Promise<{ action: JobAction; job: JobView }> {
    const action = parseOrThrow(JobActionSchema, body);
    if (action.id !== undefined && action.id !== actionId) {
      throw new ValidationError(`id must be "${actionId}" (the action in the path) or absent`, {
        field: "id",
      });
    }
    const job = await this.scheduler.get(id);
    const i = job.actions.findIndex((a) => a.id === actionId);
    if (i < 0) throw new NotFoundError(`job ${id} has no action ${actionId}`, { field: "actionId" });
    const replaced = { ...action, id: actionId };
    const actions = job.actions.map((a, k) => (k === i ? replaced : a));
    const updated = await this.scheduler.update(id, { actions }).catch((err: unknown) => {
      throw refield(err, `patch.actions.${i}.`, "");
    });
    return { action: replaced, job: updated };
  }

  async removeAction(id: string, actionId: string): Promise<JobView> {
    const job = await this.scheduler.get(id);
    if (!job.actions.some((a) => a.id === actionId)) {
      throw new NotFoundError(`job ${id} has no action ${actionId}`, { field: "actionId" });
    }
    return this.scheduler.update(id, { actions: job.actions.filter((a) => a.id !== actionId) });
  }

  private async assertNameFree(name: string, group: string, exceptId?: string): Promise<void> {
    for await (const j of this.scheduler.iterate({ name, group })) {
      if (j.name === name && j.group === group && j.id !== exceptId) {
        throw new AlreadyExistsError(
          `a job named "${name}" exists in group "${group}" already (id ${j.id})`,
          {
            field: "name",
            details: { id: j.id },
          },
        );
      }
    }
  }
}

/** A scheduler's INVALID_ARGUMENT whose field starts with `from`, renamed to start with `to` instead. */
function refield(err: unknown, from: string, to: string): unknown {
  if (!(err instanceof ValidationError) || !err.field?.startsWith(from)) return err;
  const field = to + err.field.slice(from.length);
  const message = err.message.startsWith(err.field)
    ? field + err.message.slice(err.field.length)
    : err.message;
  return new ValidationError(message, { field, cause: err });
}
