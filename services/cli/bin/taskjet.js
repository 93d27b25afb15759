#!/usr/bin/env node
// The `taskjet` bin. npm links a bin only if its file exists at install time, and dist/ does not exist
// until `npm run build`: this launcher is checked in so `npm ci && npm run build && npx taskjet` works.
import("../dist/main.js").catch((err) => {
  if (err && err.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes("dist/main.js")) {
    process.stderr.write(
      "error UNAVAILABLE: taskjet is not built: run `npm run build` in the repository root\n",
    );
  } else {
    process.stderr.write(`error INTERNAL: ${err && err.stack ? err.stack : String(err)}\n`);
  }
  process.exit(1);
});
