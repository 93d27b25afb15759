import { defineConfig } from "vitest/config";
import base from "./vitest.config.js";

// `npm run test:partition`: the partition test on network namespaces (root, iproute2), apart from `npm test`
// (chaos/partition.test.ts says why).
export default defineConfig({
  resolve: base.resolve,
  test: {
    include: ["chaos/partition.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    pool: "forks",
  },
});
