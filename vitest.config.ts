import { readdirSync, readFileSync, existsSync } from "node:fs";
import { resolve } from "node:path";
import { defineConfig } from "vitest/config";

// Tests import workspace packages from source, so a test run never sees a stale dist/.
// Spawned service processes (CLI, kill/restart tests) run the built dist/ instead.
const alias: Record<string, string> = {};
for (const area of ["shared", "services"]) {
  for (const dir of readdirSync(area)) {
    const pkgFile = resolve(area, dir, "package.json");
    const entry = resolve(area, dir, "src/index.ts");
    if (!existsSync(pkgFile) || !existsSync(entry)) continue;
    const { name } = JSON.parse(readFileSync(pkgFile, "utf8")) as { name: string };
    alias[name] = entry;
  }
}

// Test-only module shared by the client, gateway and CLI suites (a real nats-server + scheduler + worker).
alias["@taskjet/test-stack"] = resolve("e2e/stack.ts");

export default defineConfig({
  resolve: { alias },
  test: {
    include: ["{shared,services}/*/test/**/*.test.ts", "e2e/**/*.test.ts", "deploy/test/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each file starts its own nats-server(s); two cores are shared by servers and tests.
    fileParallelism: true,
    maxWorkers: 2,
    pool: "forks",
  },
});
