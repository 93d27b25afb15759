import { defineConfig } from "vitest/config";
import base from "./vitest.config.js";

// The container tests (deploy/test/containers): `npm run test:containers`, after `npm run images`. One file
// at a time: each runs a stack of containers on the machine's two cores.
export default defineConfig({
  resolve: base.resolve,
  test: {
    include: ["deploy/test/containers/**/*.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    pool: "forks",
  },
});
