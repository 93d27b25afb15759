/**
 * Server features taskjet uses only behind a version check (NATS 2.9 is the floor).
 *
 *   safeFilteredPurge  2.9.15+: a purge restricted to one subject no longer moves every consumer of the
 *                      stream past messages of other subjects (nats-server PR #3838; on 2.9.10 a purge of one
 *                      key's delete marker made the job bucket's watchers skip other keys' writes)
 */
import type { NatsConnection } from "@nats-io/nats-core";

/** [major, minor, patch] of a version string like `2.9.10` or `2.10.0-beta.1`; NaNs for garbage. */
export function parseVersion(v: string): [number, number, number] {
  const [maj, min, pat] = v
    .split("-")[0]!
    .split(".")
    .map((x) => Number(x));
  return [maj ?? Number.NaN, min ?? Number.NaN, pat ?? Number.NaN];
}

/** True when `v` is at least `min` (both `x.y.z`). */
export function versionAtLeast(v: string, min: string): boolean {
  const a = parseVersion(v);
  const b = parseVersion(min);
  for (let i = 0; i < 3; i++) {
    if (!(a[i]! === b[i]!)) return a[i]! > b[i]!;
  }
  return true;
}

/** The connected server's version, or "0.0.0" when not known yet. */
export function serverVersion(nc: NatsConnection): string {
  return nc.info?.version ?? "0.0.0";
}

export const FEATURES = {
  safeFilteredPurge: "2.9.15",
} as const;

/** True when the connected server has `feature`. */
export function serverHas(nc: NatsConnection, feature: keyof typeof FEATURES): boolean {
  return versionAtLeast(serverVersion(nc), FEATURES[feature]);
}
