/**
 * docs/client.md runs as written: every code block on the page is an example file under
 * docs/examples/client/ (marked `<!-- example: <path> -->`, compared byte for byte), the .ts files are part
 * of the repository's typecheck (tsconfig.json), and each one runs here against a real nats-server, a
 * scheduler and a worker with the built-in job types. Plus the seed's own failure case from issue 19.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { TaskjetClient } from "@taskjet/client";
import { ErrorCode, TaskjetError } from "@taskjet/protocol";
import { uniqueName, type NatsServerFixture } from "@taskjet/testing";
import { startServices } from "@taskjet/test-stack";

const root = fileURLToPath(new URL("..", import.meta.url));
const page = readFileSync(`${root}docs/client.md`, "utf8");
const prefix = uniqueName("docs");
let nats: NatsServerFixture;
let services: Awaited<ReturnType<typeof startServices>>;
let client: TaskjetClient;

/** The page's code blocks, each with the example file its marker names (undefined: no marker). */
function codeBlocks(): { path: string | undefined; code: string }[] {
  const out: { path: string | undefined; code: string }[] = [];
  const re = /(?:<!-- example: (\S+) -->\n\n)?```[a-z]*\n([\s\S]*?)```/g;
  for (const m of page.matchAll(re)) out.push({ path: m[1], code: m[2]! });
  return out;
}

/** Runs an example module (top-level await: importing it runs it) and returns what it logged. */
async function run(file: string): Promise<string> {
  const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
  try {
    await import(`../docs/examples/client/${file}`);
    return log.mock.calls.map((args) => args.map((a) => JSON.stringify(a)).join(" ")).join("\n");
  } finally {
    log.mockRestore();
  }
}

beforeAll(async () => {
  services = await startServices(prefix);
  ({ nats, client } = services);
  process.env["NATS_URL"] = nats.url;
  process.env["TASKJET_PREFIX"] = prefix;
});

afterAll(() => services?.stop());

describe("docs/client.md", () => {
  it("shows every example file as it is, and no code that is not one", () => {
    const blocks = codeBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(12);
    for (const b of blocks) {
      expect(b.path, `a code block without an example marker:\n${b.code}`).toBeDefined();
      expect(b.code, `${b.path} differs from the page`).toBe(readFileSync(`${root}${b.path}`, "utf8"));
    }
    // the typed way leads
    expect(blocks[0]!.path).toBe("docs/examples/client/typed.ts");
  });

  it("typed.ts: typed queue, accept-time refusal naming args.to, a warning for an unregistered type", async () => {
    const out = await run("typed.ts");
    expect(out).toMatch(/"mail" "high"/);
    expect(out).toContain('"INVALID_ARGUMENT" "args.to"');
    expect(out).toContain('no worker has registered type \\"reports.monthly\\" yet');
  });

  it("connect.ts, scheduler.ts, errors.ts, delays.ts, publisher.ts run", async () => {
    expect(await run("connect.ts")).toContain('"acme" "globex"');
    const tour = await run("scheduler.ts");
    expect(tour).toMatch(/"nightly-report" true "20\d\d-/);
    expect(await run("errors.ts")).toMatch(/^"cron" \[/);
    await run("delays.ts");
    const delayed = (await client.scheduler.list({ name: "at 9" })).jobs[0];
    expect(delayed?.beginTime).toBe("2030-01-01T09:00:00.000Z");
    await run("publisher.ts");
    expect((await client.scheduler.list({ type: "train" })).jobs[0]?.nodeName).toBe("gpu-1");
  });

  it("events.ts, background-jobs.ts, background-workers.ts, cluster.ts run", async () => {
    expect(await run("events.ts")).toMatch(/"after" "events-\d+" "completed"/);
    await run("background-jobs.ts");
    expect((await client.scheduler.list({ type: "send-email" })).jobs).toHaveLength(1);
    await run("background-workers.ts");
    expect((await client.scheduler.list({ name: "daily digest" })).jobs).toHaveLength(1);
    await run("cluster.ts");
  });

  it("example.mjs runs with node as written (built packages)", async () => {
    const child = spawn(process.execPath, ["docs/examples/client/example.mjs"], {
      cwd: root,
      env: { ...process.env, NATS_URL: nats.url, TASKJET_PREFIX: prefix },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(out, out).toMatch(/job hello-\d+ ran: status completed/);
    expect(code).toBe(0);
  });

  it("the seed's case: a persistent console job without args is refused when accepted, not at its first run", async () => {
    const before = await client.scheduler.list({ type: "console", jobType: "persistent" });
    const err = await client.scheduler
      .queue({ name: "console", type: "console", jobType: "persistent", intervalSeconds: 5 })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(TaskjetError);
    expect(err).toMatchObject({ code: ErrorCode.InvalidArgument, field: "args.message" });
    expect((await client.scheduler.list({ type: "console", jobType: "persistent" })).total).toBe(
      before.total,
    );
  });

  it("shutdown.ts asks the scheduler to stop (last: the scheduler is gone after it)", async () => {
    const stopped = new Promise<void>((resolve) =>
      services.scheduler.events.once("service:stopped", () => resolve()),
    );
    await run("shutdown.ts");
    await stopped;
  });
});
