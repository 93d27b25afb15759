/**
 * Bearer-token authentication: constant-time comparison against the configured tokens. A full token may do
 * everything; a read-only token may only read (see readOnly.ts for what counts as reading).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { UnauthenticatedError } from "@taskjet/protocol";

/** What a request may do: `full` (a full token, or no authentication configured), `read` (read-only). */
export type AccessRole = "full" | "read";

export class TokenAuth {
  private readonly digests: { digest: Buffer; role: AccessRole }[];

  constructor(tokens: readonly string[], readOnlyTokens: readonly string[] = []) {
    this.digests = [
      ...tokens.map((t) => ({ digest: digest(t), role: "full" as const })),
      ...readOnlyTokens.map((t) => ({ digest: digest(t), role: "read" as const })),
    ];
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** The role of the request's bearer token; throws UNAUTHENTICATED unless it carries a configured one. */
  check(authorization: string | undefined): AccessRole {
    if (!this.enabled) return "full";
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!m?.[1]) {
      throw new UnauthenticatedError("missing bearer token: send Authorization: Bearer <token>", {
        field: "Authorization",
      });
    }
    const d = digest(m[1]);
    // compare against every token so the time taken does not tell which one matched
    let role: AccessRole | undefined;
    for (const t of this.digests) if (timingSafeEqual(t.digest, d)) role ??= t.role;
    if (!role) throw new UnauthenticatedError("invalid bearer token", { field: "Authorization" });
    return role;
  }
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}
