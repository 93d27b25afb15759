import { defineConfig } from "vitest/config";
import base from "./vitest.config.js";

// `npm run dashboard:screenshots`: writes docs/dashboard/*.png from a real stack (e2e/dashboard/screenshots.ts),
// apart from `npm test`.
export default defineConfig({
  resolve: base.resolve,
  test: {
    include: ["e2e/dashboard/screenshots.ts"],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
