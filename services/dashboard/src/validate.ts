/**
 * The "queue a job" editor's checks: the protocol's JSON Schema of a job (docs/schemas/job-input.json,
 * generated from shared/protocol) compiled by Ajv, each problem named by its field path as the gateway names
 * them (`cron`, `args.url`, `(root)`).
 */
import Ajv, { type ErrorObject } from "ajv";
// eslint-disable-next-line no-restricted-imports -- a generated file of docs/ (the published contract), not a package's internals
import jobInputSchema from "../../../docs/schemas/job-input.json";

export interface FieldProblem {
  field: string;
  message: string;
}

const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
const validateJobInput = ajv.compile(jobInputSchema);

export function checkJobInput(text: string): { value?: unknown; problems: FieldProblem[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { problems: [{ field: "(json)", message: (err as Error).message }] };
  }
  if (validateJobInput(value)) return { value, problems: [] };
  return { value, problems: dedupe((validateJobInput.errors ?? []).map(toProblem)) };
}

function toProblem(e: ErrorObject): FieldProblem {
  const path = e.instancePath.split("/").filter(Boolean).join(".");
  const params = e.params as Record<string, unknown>;
  if (e.keyword === "required") {
    const p = String(params["missingProperty"]);
    return { field: path ? `${path}.${p}` : p, message: `${p} is required` };
  }
  if (e.keyword === "additionalProperties") {
    const p = String(params["additionalProperty"]);
    return { field: path || "(root)", message: `unknown field "${p}"` };
  }
  if (e.keyword === "enum") {
    const allowed = (params["allowedValues"] as unknown[]).map((v) => JSON.stringify(v)).join(", ");
    return { field: path || "(root)", message: `must be one of ${allowed}` };
  }
  if (e.keyword === "type")
    return { field: path || "(root)", message: `must be a ${String(params["type"])}` };
  return { field: path || "(root)", message: e.message ?? e.keyword };
}

function dedupe(ps: FieldProblem[]): FieldProblem[] {
  const seen = new Set<string>();
  return ps.filter((p) => {
    const k = `${p.field}\u0000${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
