import { afterAll, afterEach, beforeAll } from "vitest";
import type { NatsConnection } from "@nats-io/transport-node";
import type { NatsServerFixture } from "./NatsServerFixture.js";
import { connectTo } from "./connectTo.js";
import { startNats } from "./startNats.js";

/** The test file's server and connection, readable once its beforeAll has run. */
export interface NatsTestContext {
  readonly server: NatsServerFixture;
  readonly nc: NatsConnection;
  /** Runs `fn` after the current test (newest first): stop what the test started, close its clients. */
  defer(fn: () => Promise<unknown> | unknown): void;
}

/**
 * One real nats-server (random port, temp dir) and one connection per test file, torn down after the file;
 * call it at the top level of the file.
 */
export function useNatsServer(): NatsTestContext {
  let server: NatsServerFixture | undefined;
  let nc: NatsConnection | undefined;
  const deferred: (() => Promise<unknown> | unknown)[] = [];
  beforeAll(async () => {
    server = await startNats();
    nc = await connectTo(server.url);
  });
  afterEach(async () => {
    for (const fn of deferred.splice(0).reverse()) await fn();
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("useNatsServer: read before its beforeAll ran");
    return value;
  };
  return {
    get server() {
      return ready(server);
    },
    get nc() {
      return ready(nc);
    },
    defer: (fn) => void deferred.push(fn),
  };
}
