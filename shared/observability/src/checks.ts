import type { ReadinessCheck } from "./opsServer.js";

/** Minimal view of a NATS connection: what the readiness check needs, without depending on the client. */
interface ConnectionLike {
  isClosed(): boolean;
  isDraining(): boolean;
  flush(): Promise<void>;
}

/** Ready while the connection is open and the server answers a round trip within `timeoutMs`. */
export function natsReadiness(nc: ConnectionLike, timeoutMs = 2000): ReadinessCheck {
  return async () => {
    if (nc.isClosed()) return "NATS connection closed";
    if (nc.isDraining()) return "NATS connection draining";
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`NATS did not answer within ${timeoutMs} ms`), timeoutMs);
    });
    try {
      return await Promise.race([nc.flush().then(() => undefined), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
}
