/**
 * Edge validation of a delivered message: decode by Content-Type (msgpack default), then
 * - a fire (it has `fireId`): check FireMessageSchema (parseFire: a fast check for well-formed fires, zod for
 *   the rest) and that the fire belongs on the subject it came by (tenant, node, type, job id);
 * - else a fast-lane job (protocol fastJob.ts): check it as a job input and against its subject's tokens, and
 *   build its fire, whose nominal time is the message's stream timestamp (its acceptance).
 * So a mis-addressed message can never run on another node or reach a handler of another type. Anything else
 * is poison: the caller terminates and dead-letters it.
 */
import {
  ANY_NODE,
  FIRE_TOKEN,
  CONTENT_TYPE_HEADER,
  decode,
  encodingOf,
  parseFire,
  TOKEN_PATTERN,
  subjectToken,
  ValidationError,
  fastFireOf,
  parseFastJobOnSubject,
  RESENT_HEADER,
  type Encoding,
  type FireMessage,
  type JobDefinition,
} from "@taskjet/protocol";
import type { RunMessage } from "./runMessage.js";

const UNKNOWN = "_unknown";

export interface PoisonInfo {
  error: string;
  field?: string;
  /** what could be decoded, for the dead letter */
  value?: unknown;
  tenant: string;
  jobId: string;
}

export type Decoded =
  | {
      ok: true;
      fire: FireMessage;
      /** a fast-lane job: its definition (the message is its record until it has run) */
      fast?: JobDefinition;
    }
  | { ok: false; poison: PoisonInfo };

/**
 * The payload's encoding. A fire is a map: msgpack maps start with 0x80-0x8f/0xde/0xdf, JSON objects with
 * "{". Looking at the first byte spares parsing the headers on every message; anything else is decided by
 * Content-Type (which then also rejects unsupported types).
 */
function sniff(msg: RunMessage): Encoding {
  const b = msg.data[0];
  if (b !== undefined && ((b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf)) return "msgpack";
  if (b === 0x7b) return "json";
  return encodingOf(msg.headers?.get(CONTENT_TYPE_HEADER));
}

export function decodeFire(msg: RunMessage): Decoded {
  // <p>.run.<tenant>.<node>.<type>.<pN>.<jobId | =fire>
  const tokens = msg.subject.split(".");
  const subjectTenant = tokens[2] ?? "_unknown";
  const subjectNode = tokens[3];
  const subjectType = tokens[4];
  const subjectJob = tokens[6];
  let value: unknown;
  try {
    value = decode(msg.data, sniff(msg));
  } catch (err) {
    return {
      ok: false,
      poison: {
        error: `undecodable fire: ${(err as Error).message}`,
        tenant: UNKNOWN,
        jobId: UNKNOWN,
      },
    };
  }
  // the dead letter goes to <p>.dlq.<tenant>.<jobId> when the payload names them, else to _unknown
  const tokenOf = (field: "tenantId" | "jobId") => {
    const v = (value as Record<string, unknown> | null)?.[field];
    return typeof v === "string" && TOKEN_PATTERN.test(v) && v.length <= 128 ? v : UNKNOWN;
  };
  if (isPlainObject(value) && !("fireId" in value)) return decodeFastJob(msg, value, tokenOf);
  try {
    const fire = parseFire(value);
    if (fire.tenantId !== subjectTenant) {
      throw new ValidationError(
        `tenantId: "${fire.tenantId}" does not match the subject's tenant "${subjectTenant}"`,
        {
          field: "tenantId",
        },
      );
    }
    const node = fire.nodeName ?? ANY_NODE;
    if (subjectNode !== undefined && node !== subjectNode) {
      throw new ValidationError(`nodeName: "${node}" does not match the subject's node "${subjectNode}"`, {
        field: "nodeName",
      });
    }
    if (subjectType !== undefined && subjectToken(fire.type) !== subjectType) {
      throw new ValidationError(`type: "${fire.type}" does not match the subject's type "${subjectType}"`, {
        field: "type",
      });
    }
    // a scheduler fire's subject ends in FIRE_TOKEN; one that names a job must name the fire's
    if (subjectJob !== undefined && subjectJob !== FIRE_TOKEN && fire.jobId !== subjectJob) {
      throw new ValidationError(`jobId: "${fire.jobId}" does not match the subject's job "${subjectJob}"`, {
        field: "jobId",
      });
    }
    msg.release();
    return { ok: true, fire };
  } catch (err) {
    const e = err as ValidationError;
    return {
      ok: false,
      poison: {
        error: `invalid fire: ${e.message}`,
        ...(e.field ? { field: e.field } : {}),
        value,
        tenant: tokenOf("tenantId"),
        jobId: tokenOf("jobId"),
      },
    };
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Uint8Array);

function decodeFastJob(
  msg: RunMessage,
  value: Record<string, unknown>,
  tokenOf: (field: "tenantId" | "jobId") => string,
): Decoded {
  try {
    const def = parseFastJobOnSubject(value, msg.subject);
    const fire = fastFireOf(def, msg.storedAtMs);
    // headers are parsed only for fast-lane jobs (fires never carry it)
    msg.resent = msg.headers?.get(RESENT_HEADER) === "1";
    msg.release();
    return { ok: true, fire, fast: def };
  } catch (err) {
    const e = err as ValidationError;
    const id = value["id"];
    return {
      ok: false,
      poison: {
        error: `invalid fast-lane job: ${e.message}`,
        ...(e.field ? { field: e.field } : {}),
        value,
        tenant: tokenOf("tenantId") === UNKNOWN ? subjectTenantOf(msg.subject) : tokenOf("tenantId"),
        jobId: typeof id === "string" && TOKEN_PATTERN.test(id) && id.length <= 128 ? id : UNKNOWN,
      },
    };
  }
}

/** The subject's tenant when it is a token (a raw client may leave tenantId out of the payload). */
function subjectTenantOf(subject: string): string {
  const t = subject.split(".")[2];
  return t !== undefined && TOKEN_PATTERN.test(t) && t.length <= 64 ? t : UNKNOWN;
}
