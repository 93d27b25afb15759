/**
 * What the container tests share: running docker and docker-compose, deciding whether containers can run
 * here at all, free loopback ports, HTTP probes. Containers use the host's network (this machine's engine
 * runs with --bridge=none), so every port is a host port on 127.0.0.1, picked free at test time.
 */
import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
export const TASKJET_IMAGE = process.env["TASKJET_IMAGE"] ?? "taskjet:latest";
export const NATS_IMAGE = process.env["TASKJET_NATS_IMAGE"] ?? "taskjet-local/nats:bookworm";

/** Runs a command; resolves to its stdout, rejects with its stderr. */
export function sh(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      {
        cwd: repoRoot,
        env: opts.env ?? process.env,
        timeout: opts.timeoutMs ?? 120_000,
        maxBuffer: 64 << 20,
      },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${cmd} ${args.join(" ")}: ${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

/**
 * Why the container tests cannot run here (no engine answers, an image is missing), or undefined. With
 * TASKJET_REQUIRE_CONTAINERS=1 (.ci/run sets it once it started an engine) a reason is an error instead.
 */
export async function whyNoContainers(test: string, images: string[]): Promise<string | undefined> {
  let reason: string | undefined;
  try {
    await sh("docker", ["info", "--format", "{{.ServerVersion}}"], { timeoutMs: 20_000 });
    for (const image of images) {
      try {
        await sh("docker", ["image", "inspect", "--format", "{{.Id}}", image], { timeoutMs: 20_000 });
      } catch {
        reason = `image ${image} is missing: build it with \`npm run images\``;
        break;
      }
    }
  } catch (err) {
    const lines = (err as Error).message.split("\n").filter((l) => l.trim());
    const why = lines.find((l) => /cannot connect|daemon|permission|not found|no such/i.test(l)) ?? lines[0];
    reason = `no Docker engine answers (${why?.trim()})`;
  }
  if (reason && process.env["TASKJET_REQUIRE_CONTAINERS"] === "1") {
    throw new Error(`${test}: TASKJET_REQUIRE_CONTAINERS=1 but ${reason}`);
  }
  if (reason) console.warn(`${test} skipped: ${reason}`);
  return reason;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
/**
 * A port free now on 127.0.0.1, below the kernel's ephemeral range (32768-60999 on Linux): the services
 * bind theirs only when their container starts, and a port from the ephemeral range can be taken by then
 * as the local end of some outgoing connection (a NATS client's, say), failing the service's listen.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/** GET (or a JSON POST) with a deadline; never throws for an HTTP status, only for no answer. */
export async function http(
  url: string,
  opts: { method?: string; body?: unknown; token?: string; timeoutMs?: number } = {},
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: opts.method ?? (opts.body === undefined ? "GET" : "POST"),
    headers: {
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body };
}
