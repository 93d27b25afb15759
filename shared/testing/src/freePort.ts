import { createServer } from "node:net";

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, close). Racy by nature:
 * use only where a port must be known before the server starts (cluster routes), and retry on
 * "address already in use".
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close((err) => (err || !port ? reject(err ?? new Error("no port assigned")) : resolve(port)));
    });
  });
}
