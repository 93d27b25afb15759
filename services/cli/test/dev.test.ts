import { mkdtempSync, existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { waitFor, withDeadline } from "@taskjet/testing";
import { assertBuilt, cleanEnv, LiveCli } from "./cliHarness.js";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("taskjet dev", () => {
  it("starts nats-server, the services and the demo job in a clean directory, and stops cleanly on SIGINT", async () => {
    assertBuilt();
    const cwd = mkdtempSync(join(tmpdir(), "taskjet-dev-"));
    const dev = new LiveCli(["dev", "--port", "0"], { env: cleanEnv({ TASKJET_LOG_LEVEL: "warn" }), cwd });
    try {
      const pid = await waitFor(() => /nats-server \S+ \(pid (\d+)/.exec(dev.stderr)?.[1], {
        timeoutMs: 20_000,
        message: `nats-server started (stderr: ${dev.stderr})`,
      }).then(Number);
      expect(existsSync(join(cwd, ".taskjet", "nats"))).toBe(true);
      await waitFor(() => dev.stderr.includes("taskjet dev is running"), {
        timeoutMs: 30_000,
        message: "dev banner",
      });
      const gateway = /gateway\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(dev.stderr)?.[1];
      expect(gateway).toBeDefined();
      // the printed dashboard address opens the app (the gateway from dist finds the built assets)
      const dashboard = /dashboard\s+(http:\/\/127\.0\.0\.1:\d+\/dashboard\/)/.exec(dev.stderr)?.[1];
      expect(dashboard, dev.stderr).toBe(`${gateway!}/dashboard/`);
      const page = await fetch(dashboard!);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<title>taskjet dashboard</title>");
      expect(await (await fetch(`${dashboard!}config.json`)).json()).toEqual({ authRequired: false });
      // a dev run allows http jobs to reach this machine (a worker refuses loopback by default)
      const local = createServer((_req, res) => res.end("from localhost"));
      await new Promise<void>((r) => local.listen(0, "127.0.0.1", r));
      try {
        const url = `http://127.0.0.1:${(local.address() as AddressInfo).port}/`;
        const queued = await fetch(`${gateway!}/v1/jobs`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ id: "local-http", name: "local http", type: "http", args: { url } }),
        });
        expect(queued.status).toBe(201);
        await waitFor(
          () => dev.stdout.includes('[event] after local-http (http) run #1 ok: "from localhost"'),
          {
            timeoutMs: 20_000,
            message: `the http job reached the local server (stdout: ${dev.stdout})`,
          },
        );
      } finally {
        await new Promise((r) => local.close(r));
      }
      // the demo job fires every 5 s: its run shows in the output
      await waitFor(() => /\[event\] after dev-demo \(console\)/.test(dev.stdout), {
        timeoutMs: 25_000,
        message: "the demo job ran",
      });
      dev.child.kill("SIGINT");
      const { code } = await withDeadline(dev.exited, 30_000, "dev exits after SIGINT");
      expect(code).toBe(0);
      expect(dev.stderr).toMatch(/stopped/);
      await waitFor(() => !alive(pid), { timeoutMs: 5_000, message: "nats-server child is gone" });
    } finally {
      if (dev.child.exitCode === null) dev.child.kill("SIGKILL");
    }
  }, 90_000);
});
