import type { z } from "zod";
import { ValidationError } from "./errors.js";

/** Dotted field path from a zod issue path, prefixed by `root` when given (e.g. `jobs.2.cron`). */
export function fieldPath(path: ReadonlyArray<PropertyKey>, root?: string): string {
  const parts = path.map((p) => String(p));
  if (root) parts.unshift(root);
  return parts.join(".") || "(root)";
}

/**
 * Validates `value` against `schema` once, at the edge. On failure throws a ValidationError whose
 * `field` names the first offending field and whose `issues` list every one of them.
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, root?: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({ field: fieldPath(i.path, root), message: i.message }));
  const first = issues[0] ?? { field: root ?? "(root)", message: "invalid" };
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  throw new ValidationError(`${first.field}: ${first.message}${more}`, { field: first.field, issues });
}
