// Lint rules that keep the architecture honest: no import cycles, no deep imports across packages,
// arrows point down (protocol has no I/O; shared libraries never import services), no floating promises.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import importX from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import globals from "globals";

const deepImports = {
  group: ["@taskjet/*/*", "**/shared/*/src/**", "**/services/*/src/**", "../../*/**"],
  message: "Import another package through its public entry (@taskjet/<name>), never its internals.",
};
const restrict = (...extra) => ["error", { patterns: [deepImports, ...extra] }];

// Stage folders (docs/architecture.md, "Where the code lives"): a stage imports only the stages it builds
// on, never a stage further along its package's path and never the package's front (the top-level files
// that assemble and run the stages). The top level's definitions (options, events, errors, the handler
// API) are open to every stage.
const stageZones = (src, front, mayNotImport) =>
  Object.entries(mayNotImport).map(([stage, later]) => ({
    target: `${src}/${stage}`,
    from: [...later.map((s) => `${src}/${s}`), ...front.map((f) => `${src}/${f}`)],
    message: `${src}/${stage} may not import ${later.length ? later.join("/, ") + "/ or " : ""}the front (${front.join(", ")}): no import runs back up.`,
  }));
const stageRules = [
  // the scheduler: a job is accepted, seen by the view, planned, fired; the leader's duties wrap the firing.
  // Imports run down that path (fire uses plan and view); accept is the front door, which reads the view
  // and sends interrupts through the dispatcher, so nothing else may import it.
  ...stageZones(
    "services/scheduler/src",
    ["assembly.ts", "schedulerService.ts", "main.ts", "metrics.ts", "envConfig.ts", "index.ts"],
    {
      view: ["plan", "fire", "lead", "accept"],
      plan: ["fire", "lead", "accept"],
      fire: ["lead", "accept"],
      lead: ["accept"],
      accept: ["lead"],
    },
  ),
  // the worker: a fire comes in (intake), runs (run), leaves its outcome (outcome) and its traces
  // (telemetry). Each stage hands the delivery on by calling the next, so imports run along the path.
  ...stageZones("shared/worker-runtime/src", ["assembly.ts", "worker.ts", "index.ts"], {
    telemetry: ["outcome", "run", "intake"],
    outcome: ["run", "intake"],
    run: ["intake"],
    intake: [],
  }),
];

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/.turbo/**", "**/.taskjet/**", "bench/out/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts", "**/*.tsx"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { "import-x": importX },
    settings: {
      "import-x/resolver-next": [createTypeScriptImportResolver({ project: "tsconfig.json" })],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts", ".tsx"] },
      "import-x/extensions": [".ts", ".tsx", ".js"],
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "import-x/no-cycle": "error",
      "import-x/no-restricted-paths": ["error", { basePath: import.meta.dirname, zones: stageRules }],
      "no-restricted-imports": restrict(),
    },
  },
  {
    files: ["shared/protocol/src/**/*.ts"],
    rules: {
      "no-restricted-imports": restrict({
        group: ["@taskjet/*", "@nats-io/*", "node:*", "pino"],
        message: "shared/protocol is pure: schemas, subjects, codec and errors, no I/O and no other package.",
      }),
    },
  },
  {
    files: ["shared/*/src/**/*.ts"],
    ignores: ["shared/protocol/src/**"],
    rules: {
      "no-restricted-imports": restrict({
        group: ["@taskjet/scheduler", "@taskjet/worker", "@taskjet/gateway", "taskjet"],
        message: "shared/ libraries never import services (arrows point down).",
      }),
    },
  },
  {
    // the dashboard runs in the browser (its tsconfig has the DOM types; here its globals)
    files: ["services/dashboard/src/**/*.{ts,tsx}"],
    languageOptions: { globals: globals.browser },
    rules: {
      "no-restricted-imports": restrict({
        group: ["@taskjet/*", "!@taskjet/protocol"],
        message: "the dashboard talks to the gateway over HTTP; it imports only types of @taskjet/protocol.",
      }),
    },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: { globals: globals.node },
  },
);
