/**
 * Server features taskjet uses only behind a version check (NATS 2.9 is the floor).
 *
 *   safeFilteredPurge  2.9.15+: a purge restricted to one subject no longer moves every consumer of the
 *                      stream past messages of other subjects (nats-server PR #3838; on 2.9.10 a purge of one
 *                      key's delete marker made the job bucket's watchers skip other keys' writes)
 *   serializableCas    2.9.21+: a compare-and-set (Nats-Expected-Last-Subject-Sequence, i.e. a KV update
 *                      with a revision) on a REPLICATED stream is checked when the write is applied, not only
 *                      before it is proposed (nats-server#4320). Before, concurrent updates with the same
 *                      revision all succeed: on 2.9.10 with R3, 299 of 300 races of four updates had more
 *                      than one winner (0 of 300 on 2.10.27). Every store write, the lease and the fire
 *                      cursor rely on it, so taskjet refuses replicas > 1 on older servers
 *                      (assertReplicasSafe). A single server (R1) checks on apply in every version.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { FailedPreconditionError } from "@taskjet/protocol";

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
  serializableCas: "2.9.21",
} as const;

/** True when the connected server has `feature`. */
export function serverHas(nc: NatsConnection, feature: keyof typeof FEATURES): boolean {
  return versionAtLeast(serverVersion(nc), FEATURES[feature]);
}

/**
 * Throws FailedPreconditionError (field `topology.replicas`) when `replicas` > 1 and the connected server
 * lets two compare-and-set writes both win (serializableCas above): a replicated store would lose updates
 * silently. `what` names what is replicated, for the message.
 */
export function assertReplicasSafe(nc: NatsConnection, replicas: number, what: string): void {
  if (replicas <= 1 || serverHas(nc, "serializableCas")) return;
  const version = serverVersion(nc);
  throw new FailedPreconditionError(
    `${what} has ${replicas} replicas, but nats-server ${version} does not serialize compare-and-set ` +
      `writes on replicated streams (nats-server#4320, fixed in ${FEATURES.serializableCas}): concurrent ` +
      `store writes would both succeed and one would be lost. Upgrade the NATS servers to ` +
      `${FEATURES.serializableCas} or newer, or run with TASKJET_STREAM_REPLICAS=1`,
    {
      field: "topology.replicas",
      details: { replicas, serverVersion: version, needs: FEATURES.serializableCas },
    },
  );
}
