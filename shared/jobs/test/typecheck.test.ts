/**
 * Compile-time checks of producers and handlers typed by defineJob: tsc (the TypeScript compiler API, with
 * the repository's tsconfig) on a fixture that must compile and on one that must not.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, "fixtures");
const root = resolve(here, "../../..");

function compilerOptions(): ts.CompilerOptions {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(root, "tsconfig.json"),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      },
    },
  );
  if (!parsed) throw new Error("tsconfig.json could not be read");
  return { ...parsed.options, noEmit: true };
}

/** Type errors of one file (and what it imports), as `line: message`. */
function typeErrors(file: string): string[] {
  const program = ts.createProgram([file], compilerOptions());
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === file)
    .map((d) => {
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      return `${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`;
    });
}

const scratch = mkdtempSync(join(fixtures, ".tmp-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("typed job definitions at compile time", () => {
  it("a producer and handlers that match their definitions compile", () => {
    expect(typeErrors(join(fixtures, "producer-ok.ts"))).toEqual([]);
  }, 120_000);

  it("wrong, missing and unknown args are compile errors", () => {
    const source = readFileSync(join(fixtures, "producer-bad.ts"), "utf8");
    const lines = source.split("\n");
    // each marked call is on the line after its marker
    const expected = lines.flatMap((l, i) => (/@ts-expect-error BAD-\d/.test(l) ? [i + 2] : []));
    expect(expected).toHaveLength(5);
    const bad = join(scratch, "producer-bad.ts");
    writeFileSync(
      bad,
      source.replace(/\/\/ @ts-expect-error (BAD-\d)/g, "// $1").replace("./jobs.js", "../jobs.js"),
    );
    const errors = typeErrors(bad);
    const errorLines = [...new Set(errors.map((e) => Number(e.split(":")[0])))];
    expect(errorLines, errors.join("\n")).toEqual(expected);
    const text = errors.join("\n");
    expect(text).toMatch(/'number' is not assignable to type 'string'/);
    expect(text).toMatch(/Property 'subject' is missing/);
    expect(text).toMatch(/'body' does not exist/);
  }, 120_000);
});
