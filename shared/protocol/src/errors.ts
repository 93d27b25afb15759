/**
 * Typed errors with stable codes. Every failure that crosses a process boundary is one of these,
 * carried in the reply envelope as `{ code, message, field?, retryable }`.
 */

/** Stable error codes. Never renumber or rename: clients in other languages match on them. */
export const ErrorCode = {
  InvalidArgument: "INVALID_ARGUMENT",
  NotFound: "NOT_FOUND",
  AlreadyExists: "ALREADY_EXISTS",
  Conflict: "CONFLICT",
  FailedPrecondition: "FAILED_PRECONDITION",
  Decode: "DECODE_ERROR",
  Unauthenticated: "UNAUTHENTICATED",
  /** authenticated, but not allowed to do this (e.g. a read-only gateway token on a mutating route) */
  PermissionDenied: "PERMISSION_DENIED",
  Fenced: "FENCED",
  Unavailable: "UNAVAILABLE",
  Timeout: "TIMEOUT",
  Internal: "INTERNAL",
  /** JetStream is out of room (the job bucket at its max bytes, the server's storage exhausted) */
  ResourceExhausted: "RESOURCE_EXHAUSTED",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes a caller may retry unchanged. */
const retryableCodes: ReadonlySet<ErrorCode> = new Set([
  ErrorCode.Conflict,
  ErrorCode.Unavailable,
  ErrorCode.Timeout,
  // room comes back when jobs finish or are removed, or when the operator grows the store
  ErrorCode.ResourceExhausted,
]);

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** Dotted path of the offending input field, e.g. `cron` or `jobs.3.intervalSeconds`. */
  field?: string;
  retryable: boolean;
  details?: Record<string, unknown>;
}

export interface TaskjetErrorOptions {
  field?: string;
  cause?: unknown;
  details?: Record<string, unknown>;
}

/** Base class: every taskjet error has a stable `code`, an optional `field` and `retryable`. */
export class TaskjetError extends Error {
  override name = "TaskjetError";
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, opts: TaskjetErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.field = opts.field;
    this.details = opts.details;
  }

  get retryable(): boolean {
    return retryableCodes.has(this.code);
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message, retryable: this.retryable };
    if (this.field !== undefined) body.field = this.field;
    if (this.details !== undefined) body.details = this.details;
    return body;
  }
}

/** One problem of an INVALID_ARGUMENT: the dotted field path (`(root)` for the body itself) and what is wrong. */
export interface FieldIssue {
  field: string;
  message: string;
}

/**
 * INVALID_ARGUMENT. Its body always carries `details.issues` (at least one item), whether it came from a
 * schema (every problem found) or from a single check (one item: `field`, or `(root)`, and the message
 * without its leading `<field>: `), so a client in any language reads one shape for every bad input.
 */
export class ValidationError extends TaskjetError {
  override name = "ValidationError";
  /** Every problem found, not only the first: `field` names the first one. */
  readonly issues: ReadonlyArray<FieldIssue>;
  constructor(message: string, opts: TaskjetErrorOptions & { issues?: FieldIssue[] } = {}) {
    const issues =
      opts.issues && opts.issues.length > 0 ? opts.issues : [singleIssue(message, opts.field ?? "(root)")];
    super(ErrorCode.InvalidArgument, message, { ...opts, details: { issues, ...opts.details } });
    this.issues = issues;
  }
}

function singleIssue(message: string, field: string): FieldIssue {
  const own = `${field}: `;
  return { field, message: message.startsWith(own) ? message.slice(own.length) : message };
}

export class NotFoundError extends TaskjetError {
  override name = "NotFoundError";
  constructor(message: string, opts: TaskjetErrorOptions = {}) {
    super(ErrorCode.NotFound, message, opts);
  }
}

export class AlreadyExistsError extends TaskjetError {
  override name = "AlreadyExistsError";
  constructor(message: string, opts: TaskjetErrorOptions = {}) {
    super(ErrorCode.AlreadyExists, message, opts);
  }
}

/** A compare-and-set lost against a concurrent writer. Re-read and try again. */
export class ConflictError extends TaskjetError {
  override name = "ConflictError";
  constructor(message: string, opts: TaskjetErrorOptions = {}) {
    super(ErrorCode.Conflict, message, opts);
  }
}

/** The operation is not allowed in the job's current state (e.g. deleting a running job). */
export class FailedPreconditionError extends TaskjetError {
  override name = "FailedPreconditionError";
  constructor(message: string, opts: TaskjetErrorOptions = {}) {
    super(ErrorCode.FailedPrecondition, message, opts);
  }
}

/** A payload could not be decoded (bad msgpack/JSON, unknown content type). */
export class DecodeError extends TaskjetError {
  override name = "DecodeError";
  constructor(message: string, opts: TaskjetErrorOptions = {}) {
    super(ErrorCode.Decode, message, opts);
  }
}

export class UnauthenticatedError extends TaskjetError {
  override name = "UnauthenticatedError";
  constructor(message: string, opts: TaskjetErrorOptions = {}) {
    super(ErrorCode.Unauthenticated, message, opts);
  }
}

/** The caller is known but may not do this (a read-only token asking for a change). */
export class PermissionDeniedError extends TaskjetError {
  override name = "PermissionDeniedError";
  constructor(message: string, opts: TaskjetErrorOptions = {}) {
    super(ErrorCode.PermissionDenied, message, opts);
  }
}

/** A deposed leader tried to act with an old epoch. */
export class FencedError extends TaskjetError {
  override name = "FencedError";
  constructor(message: string, opts: TaskjetErrorOptions = {}) {
    super(ErrorCode.Fenced, message, opts);
  }
}

export class UnavailableError extends TaskjetError {
  override name = "UnavailableError";
  constructor(message: string, opts: TaskjetErrorOptions = {}) {
    super(ErrorCode.Unavailable, message, opts);
  }
}

export class TimeoutError extends TaskjetError {
  override name = "TimeoutError";
  constructor(message: string, opts: TaskjetErrorOptions = {}) {
    super(ErrorCode.Timeout, message, opts);
  }
}

/** The store is full: retry later (jobs end and free room) or ask the operator for more storage. */
export class ResourceExhaustedError extends TaskjetError {
  override name = "ResourceExhaustedError";
  constructor(message: string, opts: TaskjetErrorOptions = {}) {
    super(ErrorCode.ResourceExhausted, message, opts);
  }
}

export class InternalError extends TaskjetError {
  override name = "InternalError";
  constructor(message: string, opts: TaskjetErrorOptions = {}) {
    super(ErrorCode.Internal, message, opts);
  }
}

const classes: Record<ErrorCode, new (message: string, opts?: TaskjetErrorOptions) => TaskjetError> = {
  INVALID_ARGUMENT: ValidationError,
  NOT_FOUND: NotFoundError,
  ALREADY_EXISTS: AlreadyExistsError,
  CONFLICT: ConflictError,
  FAILED_PRECONDITION: FailedPreconditionError,
  DECODE_ERROR: DecodeError,
  UNAUTHENTICATED: UnauthenticatedError,
  PERMISSION_DENIED: PermissionDeniedError,
  FENCED: FencedError,
  UNAVAILABLE: UnavailableError,
  TIMEOUT: TimeoutError,
  INTERNAL: InternalError,
  RESOURCE_EXHAUSTED: ResourceExhaustedError,
};

/** Rebuilds the typed error from a reply envelope's error body (the client side of `toBody`). */
export function errorFromBody(body: ErrorBody): TaskjetError {
  const Cls = classes[body.code] ?? InternalError;
  const opts: TaskjetErrorOptions = {};
  if (body.field !== undefined) opts.field = body.field;
  if (body.details !== undefined) opts.details = body.details;
  if (Cls === ValidationError) {
    const issues = (body.details?.["issues"] as FieldIssue[] | undefined) ?? undefined;
    return new ValidationError(body.message, { ...opts, ...(issues ? { issues } : {}) });
  }
  return new Cls(body.message, opts);
}

/** Wraps anything thrown into a TaskjetError, keeping typed ones as they are. */
export function toTaskjetError(err: unknown): TaskjetError {
  if (err instanceof TaskjetError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new InternalError(message, { cause: err });
}

export function isTaskjetError(err: unknown): err is TaskjetError {
  return err instanceof TaskjetError;
}

/**
 * The one line every taskjet process prints for an error: `error <CODE> (<field>): <message>`
 * (docs/configuration.md, docs/cli.md). A message that starts with its own field does not say it twice.
 */
export function errorLine(err: TaskjetError): string {
  const field = err.field ? ` (${err.field})` : "";
  const own = err.field ? `${err.field}: ` : "";
  const message = own && err.message.startsWith(own) ? err.message.slice(own.length) : err.message;
  return `error ${err.code}${field}: ${message}`;
}
