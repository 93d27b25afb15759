/**
 * The operations endpoint every taskjet service exposes (TASKJET_METRICS_PORT): `/metrics` for Prometheus,
 * `/healthz` (the process answers) and `/readyz` (every readiness check passes: NATS connected, store
 * reachable, ...). A failing check answers 503 with the reasons, so a probe's log says what is wrong.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export type ReadinessCheck = () => Promise<string | undefined> | string | undefined;

export interface OpsServerOptions {
  /** 0 = a free port */
  port: number;
  host?: string;
  registry: Registry;
  /** name -> check; a check returns undefined when ready, or the reason it is not */
  checks?: Record<string, ReadinessCheck>;
}

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? "/").split("?")[0];
      if (path === "/metrics") {
        res.writeHead(200, { "Content-Type": opts.registry.contentType });
        res.end(await opts.registry.metrics());
      } else if (path === "/healthz") {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ status: "ok" }));
      } else if (path === "/readyz") {
        const failures: Record<string, string> = {};
        for (const [name, check] of Object.entries(opts.checks ?? {})) {
          try {
            const reason = await check();
            if (reason) failures[name] = reason;
          } catch (err) {
            failures[name] = (err as Error).message;
          }
        }
        const ready = Object.keys(failures).length === 0;
        res.writeHead(ready ? 200 : 503, { "Content-Type": "application/json" });
        res.end(JSON.stringify(ready ? { status: "ready" } : { status: "not ready", failures }));
      } else {
        res.writeHead(404, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ error: { code: "NOT_FOUND", message: `no route ${path}` } }));
      }
    })().catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "0.0.0.0", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
