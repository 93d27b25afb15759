/**
 * Read-only tokens: a request authenticated by one may read (GET, HEAD, OPTIONS) and nothing else; any other
 * method answers 403 PERMISSION_DENIED before the route runs, so no route can forget the check.
 */
import type { FastifyRequest } from "fastify";
import { PermissionDeniedError } from "@taskjet/protocol";
import type { AccessRole } from "./auth.js";

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const roles = new WeakMap<FastifyRequest, AccessRole>();

/** Records the request's role and refuses a change asked for with a read-only token. */
export function enforceRole(req: FastifyRequest, role: AccessRole): void {
  roles.set(req, role);
  if (role === "read" && !READ_METHODS.has(req.method)) {
    throw new PermissionDeniedError(
      `this token is read-only: ${req.method} ${req.url.split("?")[0]} changes something and needs a full token`,
      { field: "Authorization" },
    );
  }
}

/** The role the request was authenticated with (`full` when the gateway runs without authentication). */
export function roleOf(req: FastifyRequest): AccessRole {
  return roles.get(req) ?? "full";
}
