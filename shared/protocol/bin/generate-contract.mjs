#!/usr/bin/env node
// Writes the machine-readable protocol from the built @taskjet/protocol (contract.ts): a JSON Schema per
// payload in docs/schemas/ and the AsyncAPI 3 document docs/asyncapi.yaml. `npm run protocol:generate`
// builds first. shared/protocol/test/contract.test.ts regenerates them and fails when the committed files
// differ, so edit the zod schemas or subjects.ts and run this, never the files.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderContract } from "./renderContract.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const files = await renderContract();
const schemaDir = join(root, "docs/schemas");
mkdirSync(schemaDir, { recursive: true });
// a schema that no longer exists must not linger
for (const f of readdirSync(schemaDir)) if (f.endsWith(".json")) rmSync(join(schemaDir, f));
for (const [path, text] of Object.entries(files)) writeFileSync(join(root, path), text);
console.log(`wrote ${Object.keys(files).length} files: docs/asyncapi.yaml and docs/schemas/*.json`);
