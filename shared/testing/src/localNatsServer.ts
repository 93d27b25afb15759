import { removeTempDir } from "./cleanupRegistry.js";
import type { NatsServerFixture } from "./NatsServerFixture.js";
import {
  killProcess,
  NatsServerStartError,
  spawnNatsServer,
  type SpawnedNatsServer,
} from "./spawnNatsServer.js";

export interface LocalNatsServerOptions {
  /** Path of the nats-server binary. */
  binary: string;
  /**
   * Full argument list for a given client port; called with -1 ("any free port", parsed from the
   * log) on first start and with the real port on restart.
   */
  argsFor(port: number): string[];
  /** Store dir owned by this fixture: removed by stop(). */
  storeDir?: string;
  readyTimeoutMs?: number;
}

const DEFAULT_READY_TIMEOUT_MS = 20_000;
const KILL_GRACE_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const RESTART_ATTEMPTS = 5;

/** Spawn a nats-server process and wrap it in a restartable {@link NatsServerFixture}. */
export async function startLocalNatsServer(opts: LocalNatsServerOptions): Promise<NatsServerFixture> {
  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  let first: SpawnedNatsServer;
  try {
    first = await spawnNatsServer(opts.binary, opts.argsFor(-1), readyTimeoutMs);
  } catch (err) {
    if (opts.storeDir) await removeTempDir(opts.storeDir);
    throw err;
  }
  return new LocalNatsServer(opts, first, readyTimeoutMs);
}

class LocalNatsServer implements NatsServerFixture {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string | undefined;
  readonly canRestart = true;
  private current: SpawnedNatsServer | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly opts: LocalNatsServerOptions,
    first: SpawnedNatsServer,
    private readonly readyTimeoutMs: number,
  ) {
    this.current = first;
    this.port = first.port;
    this.url = `nats://127.0.0.1:${first.port}`;
    this.storeDir = opts.storeDir;
  }

  get pid(): number | undefined {
    const c = this.current;
    return c && c.child.exitCode === null && c.child.signalCode === null ? c.pid : undefined;
  }

  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (this.current) await killProcess(this.current, signal, KILL_GRACE_MS);
  }

  async restart(): Promise<void> {
    if (this.stopping) throw new Error(`nats-server ${this.url} was stopped; it cannot be restarted`);
    await this.kill("SIGTERM");
    // Retry only on EADDRINUSE: someone may have grabbed our port in the instant it was free.
    for (let attempt = 1; ; attempt++) {
      try {
        this.current = await spawnNatsServer(
          this.opts.binary,
          this.opts.argsFor(this.port),
          this.readyTimeoutMs,
        );
        break;
      } catch (err) {
        if (!(err instanceof NatsServerStartError && err.addressInUse) || attempt >= RESTART_ATTEMPTS) {
          throw err;
        }
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
    // stop() may have run while we were starting: do not leave the new process behind.
    if (this.stopping) {
      await killProcess(this.current, "SIGKILL", 0);
      if (this.storeDir) await removeTempDir(this.storeDir);
    }
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.current) await killProcess(this.current, "SIGTERM", STOP_GRACE_MS);
      if (this.storeDir) await removeTempDir(this.storeDir);
    })();
    return this.stopping;
  }
}
