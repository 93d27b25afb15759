/** Bearer-token authentication: constant-time comparison against the configured tokens. */
import { createHash, timingSafeEqual } from "node:crypto";
import { UnauthenticatedError } from "@taskjet/protocol";

export class TokenAuth {
  private readonly digests: Buffer[];

  constructor(tokens: readonly string[]) {
    this.digests = tokens.map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** Throws UNAUTHENTICATED unless the Authorization header carries a configured bearer token. */
  check(authorization: string | undefined): void {
    if (!this.enabled) return;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!m?.[1]) {
      throw new UnauthenticatedError("missing bearer token: send Authorization: Bearer <token>", {
        field: "Authorization",
      });
    }
    const d = digest(m[1]);
    // compare against every token so the time taken does not tell which one matched
    let ok = false;
    for (const t of this.digests) ok = timingSafeEqual(t, d) || ok;
    if (!ok) throw new UnauthenticatedError("invalid bearer token", { field: "Authorization" });
  }
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}
