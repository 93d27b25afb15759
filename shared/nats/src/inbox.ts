/**
 * Reply inboxes under the connection's own inbox prefix.
 *
 * A server that keeps users apart lets each subscribe only to its own prefix (`_INBOX_acme.>`, see
 * deploy/nats/); an inbox made with nats.js' bare `createInbox()` is `_INBOX.<nuid>`, and subscribing to it
 * is a permissions violation that closes the subscription (the request multiplexer, the worker's puller).
 * So every inbox taskjet makes itself comes from here, with the prefix the connection was opened with
 * (`connect({ inboxPrefix })`, connectNats' `inboxPrefix`), also when the caller made the connection.
 *
 * nats.js' JetStream and KV clients read the same option (NatsConnectionImpl.options, a public field of the
 * connection class, not of the NatsConnection interface); we read it the same way rather than ask every
 * caller to pass the prefix a second time and risk the two disagreeing.
 */
import { createInbox, type NatsConnection } from "@nats-io/nats-core";
import type { NatsConnectionImpl } from "@nats-io/nats-core/internal";

/** The connection's inbox prefix, or undefined for nats.js' default `_INBOX`. */
export function inboxPrefixOf(nc: NatsConnection): string | undefined {
  const options = (nc as Partial<Pick<NatsConnectionImpl, "options">>).options;
  return options?.inboxPrefix || undefined;
}

/** A fresh inbox subject (`<prefix>.<nuid>`) under the connection's inbox prefix. */
export function inboxFor(nc: NatsConnection): string {
  return createInbox(inboxPrefixOf(nc));
}
