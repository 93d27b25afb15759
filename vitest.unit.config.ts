import { defineConfig } from "vitest/config";
import base from "./vitest.config.js";

// `npm run test:unit`: the pure-logic tests, which start no nats-server and spawn no service (seconds, not
// minutes; a quick check before the whole suite). A test file that needs a server does not belong here.
export default defineConfig({
  resolve: base.resolve,
  test: {
    include: [
      "shared/protocol/test/**/*.test.ts",
      "shared/jobs/test/**/*.test.ts",
      "shared/nats/test/serverVersion.test.ts",
      "shared/testing/test/helpers.test.ts",
      "shared/client/test/backgroundWorkerDstRule.test.ts",
      "shared/worker-runtime/test/{destinationPolicy,guardedHttp,pendingRuns}.test.ts",
      "services/scheduler/test/{argsChecker,config,jobFields,jobView,msgpackCursor.property,planner,storeOutage}.test.ts",
    ],
    testTimeout: 60_000,
    maxWorkers: 2,
    pool: "forks",
  },
});
