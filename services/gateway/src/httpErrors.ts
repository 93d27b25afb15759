/**
 * One error shape on every route: `{ error: { code, message, field, retryable, details? } }` with the
 * protocol's stable codes, and the HTTP status that fits each code.
 */
import type { FastifyError, FastifyReply } from "fastify";
import {
  ErrorCode,
  InternalError,
  NotFoundError,
  toTaskjetError,
  TaskjetError,
  ValidationError,
  DecodeError,
} from "@taskjet/protocol";

export const httpStatusOf: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  DECODE_ERROR: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  CONFLICT: 409,
  FAILED_PRECONDITION: 409,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  FENCED: 503,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
  INTERNAL: 500,
  // 507 Insufficient Storage, not 503: "the store is full" and "no scheduler answers" need different fixes
  RESOURCE_EXHAUSTED: 507,
};

export interface HttpErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    field: string | null;
    retryable: boolean;
    details?: Record<string, unknown>;
  };
}

export function errorBody(err: TaskjetError): HttpErrorBody {
  const body: HttpErrorBody = {
    error: { code: err.code, message: err.message, field: err.field ?? null, retryable: err.retryable },
  };
  if (err.details !== undefined) body.error.details = err.details;
  return body;
}

/**
 * A body over the gateway's bodyLimitBytes: INVALID_ARGUMENT naming `(body)`, sent as HTTP 413 (the code
 * says what is wrong, the status lets HTTP clients and proxies tell it from other bad requests).
 */
export class BodyTooLargeError extends ValidationError {
  override name = "BodyTooLargeError";
  readonly httpStatus = 413;
}

/** Fastify's own failures (bad JSON, body too large, wrong content type) as typed errors. */
export function fromFastifyError(err: FastifyError | Error, bodyLimitBytes?: number): TaskjetError {
  if (err instanceof TaskjetError) return err;
  const fe = err as FastifyError;
  const status = fe.statusCode ?? 500;
  if (fe.code === "FST_ERR_CTP_BODY_TOO_LARGE" || status === 413) {
    const limit = bodyLimitBytes === undefined ? "" : ` of ${bodyLimitBytes} bytes`;
    return new BodyTooLargeError(`the request body is larger than the gateway's limit${limit}`, {
      field: "(body)",
      ...(bodyLimitBytes === undefined ? {} : { details: { bodyLimitBytes } }),
    });
  }
  if (fe.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    return new DecodeError(`unsupported content type: send application/json`, { field: "Content-Type" });
  }
  if (status >= 400 && status < 500) {
    if (status === 404) return new NotFoundError(err.message);
    return new ValidationError(err.message, { field: "(body)" });
  }
  return status >= 500 ? toTaskjetError(err) : new InternalError(err.message, { cause: err });
}

export function sendError(reply: FastifyReply, err: TaskjetError): FastifyReply {
  const status = err instanceof BodyTooLargeError ? err.httpStatus : (httpStatusOf[err.code] ?? 500);
  if (err.code === ErrorCode.Unauthenticated) reply.header("www-authenticate", 'Bearer realm="taskjet"');
  return reply.code(status).type("application/json").send(errorBody(err));
}
