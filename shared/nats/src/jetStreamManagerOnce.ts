/**
 * One JetStreamManager per holder, made on first use: the read-only views (the client's ClusterInfo, the
 * gateway's dead letters) ask for it on every call and share one. A failed attempt is not kept, so the next
 * call tries again, and it fails as UNAVAILABLE naming the cause.
 */
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { UnavailableError } from "@taskjet/protocol";

export function jetStreamManagerOnce(nc: NatsConnection): () => Promise<JetStreamManager> {
  let made: Promise<JetStreamManager> | undefined;
  return () => {
    made ??= jetstreamManager(nc).catch((err: unknown) => {
      made = undefined;
      throw new UnavailableError(`JetStream is not available: ${(err as Error).message}`, { cause: err });
    });
    return made;
  };
}
