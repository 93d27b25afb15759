/**
 * One NATS server that a test talks to, however it was obtained (see `startNats`):
 * a nats-server process spawned by this package, an external server named by `NATS_URL`,
 * or a Docker container.
 *
 * Always call {@link NatsServerFixture.stop} in `afterAll`/`afterEach`; anything left running is
 * SIGKILLed when the test process exits, but stopping early frees ports and disk sooner.
 */
export interface NatsServerFixture {
  /** Client URL, e.g. `nats://127.0.0.1:41235`. Stable across {@link restart}. */
  readonly url: string;
  /** Client port. Stable across {@link restart}, so clients with reconnect enabled find the server again. */
  readonly port: number;
  /**
   * JetStream store directory (a fresh dir under `os.tmpdir()` named `taskjet-nats-*`), kept across
   * {@link kill} and {@link restart} and removed by {@link stop}. Undefined for external/container
   * servers and when JetStream is disabled.
   */
  readonly storeDir?: string;
  /**
   * PID of the running nats-server process; undefined while it is down (after {@link kill}) and for
   * servers this package did not spawn. Changes on every {@link restart}.
   */
  readonly pid?: number;
  /**
   * True if {@link kill} and {@link restart} work, i.e. the server is a process spawned here.
   * False for `NATS_URL` and Docker servers: there both reject, and `stop()` of a `NATS_URL`
   * server is a no-op. Tests that need crash/restart should `it.skipIf(!fixture.canRestart)`.
   */
  readonly canRestart: boolean;
  /**
   * Send `signal` (default `SIGKILL`, i.e. a crash) and wait until the process has exited. The port
   * and store dir are kept for {@link restart}. No-op if the server is already down. A non-SIGKILL
   * signal escalates to SIGKILL if the process has not exited after 10 s.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Start the server again with the same arguments, on the SAME port and SAME store dir, and wait
   * until it is ready. If it is still running it is first shut down gracefully (SIGTERM).
   * Rejects after {@link stop}.
   */
  restart(): Promise<void>;
  /**
   * Graceful shutdown: SIGTERM, then SIGKILL after a deadline; waits for exit, then removes the
   * store dir. Idempotent; concurrent calls share one shutdown.
   */
  stop(): Promise<void>;
}

/**
 * The fixture of a server this process cannot crash or restart (external or containerized): kill and
 * restart reject naming `server` (e.g. `external NATS server nats://a:4222 (NATS_URL)`).
 */
export function fixtureWithoutRestart(
  url: string,
  port: number,
  server: string,
  stop: () => Promise<void>,
): NatsServerFixture {
  const cannot = (what: string) => () =>
    Promise.reject(new Error(`cannot ${what} the ${server}; check canRestart`));
  return { url, port, canRestart: false, kill: cannot("kill"), restart: cannot("restart"), stop };
}

/** Options of `startNats`. */
export interface StartNatsOptions {
  /** Enable JetStream with a fresh file store dir (`-js -sd <dir>`). Default true. */
  jetstream?: boolean;
  /**
   * Extra nats-server command-line arguments, appended after the defaults (so e.g. a later
   * `-m 8222` adds monitoring). Do not pass `-l`/`--log`: readiness is read from the log on stderr.
   * Ignored when `NATS_URL` selects an external server.
   */
  args?: string[];
}
