/**
 * Builds the dashboard into dist/ (index.html and hashed assets under dist/assets), served by the gateway at
 * /dashboard/ (services/gateway/src/routes/dashboard.ts). Everything is bundled: no CDN.
 */
import { defineConfig } from "vite";

export default defineConfig({
  root: "src",
  base: "./",
  build: {
    outDir: "../dist",
    emptyOutDir: true,
    target: "es2022",
    // the budget is checked by test/bundleSize.test.ts on the gzipped output
    chunkSizeWarningLimit: 600,
  },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  server: { proxy: { "/v1": "http://127.0.0.1:8080" } },
});
