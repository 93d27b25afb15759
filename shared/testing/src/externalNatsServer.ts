import { fixtureWithoutRestart, type NatsServerFixture } from "./NatsServerFixture.js";

/**
 * Fixture for a server this process does not own (from `NATS_URL`): nothing to kill, restart or
 * clean up. `url` is returned exactly as given, so a list like `nats://a:4222,nats://b:4222` works
 * with `connectTo(url.split(","))`.
 */
export function externalNatsServer(url: string): NatsServerFixture {
  const first = url.split(",")[0]?.trim() ?? url;
  const parsed = new URL(/^[a-z]+:\/\//i.test(first) ? first : `nats://${first}`);
  const port = parsed.port ? Number(parsed.port) : 4222;
  return fixtureWithoutRestart(url, port, `external NATS server ${url} (NATS_URL)`, () => Promise.resolve());
}
