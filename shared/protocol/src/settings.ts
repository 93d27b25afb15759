/**
 * One way to read a process's configuration from its flags and environment (the scheduler, the worker, the
 * gateway and the CLI all use it). Each setting names its flag and/or environment variable and a zod schema
 * for the text; `readSettings` reads them all at once:
 *
 *   - a flag wins over its variable; a variable that is empty (or only spaces) counts as unset
 *   - an unset setting is left out of the result, so the options' own defaults apply later
 *   - a bad value is a ValidationError whose field is the flag or variable it came from:
 *     `TASKJET_CONCURRENCY must be a whole number, got "lots"` (field TASKJET_CONCURRENCY)
 *
 * `envText` holds the schemas for text: whole numbers, numbers, booleans (1/0, true/false, yes/no, on/off),
 * comma-separated lists and JSON. No I/O: the caller passes the environment and the parsed flags.
 */
import { z } from "zod";
import { ValidationError } from "./errors.js";

export interface Setting<S extends z.ZodType = z.ZodType> {
  /** the environment variable, e.g. `TASKJET_CONCURRENCY` */
  env?: string;
  /** the flag's key among the parsed flags, e.g. `concurrency` for `--concurrency` */
  flag?: string;
  /** reads the text (or a flag's parsed value); its issue message follows the name: "must be ..." */
  schema: S;
}

export type SettingsOf<D extends Record<string, Setting>> = {
  [K in keyof D]?: z.output<D[K]["schema"]>;
};

export interface SettingSources {
  env?: Readonly<Record<string, string | undefined>>;
  flags?: Readonly<Record<string, unknown>>;
}

/** Reads every setting of `defs` from `sources` (see the file header); throws ValidationError naming the source. */
export function readSettings<D extends Record<string, Setting>>(
  defs: D,
  sources: SettingSources,
): SettingsOf<D> {
  const out: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(defs)) {
    let raw: unknown;
    let field: string | undefined;
    let label = "";
    const flagValue = def.flag === undefined ? undefined : sources.flags?.[def.flag];
    if (flagValue !== undefined) {
      raw = flagValue;
      field = def.flag!;
      label = `--${def.flag}`;
    } else if (def.env !== undefined) {
      const text = sources.env?.[def.env];
      if (text !== undefined && text.trim() !== "") {
        raw = text;
        field = def.env;
        label = def.env;
      }
    }
    if (field === undefined) continue;
    const result = def.schema.safeParse(raw);
    if (!result.success) {
      const message = result.error.issues[0]?.message ?? "is not valid";
      // "--concurrency must be ...", or "--tenant: tenant may contain only ..." for a schema that names itself
      const joined = /^(must|is|may) /.test(message) ? `${label} ${message}` : `${label}: ${message}`;
      throw new ValidationError(`${joined}, got ${JSON.stringify(raw)}`, { field });
    }
    if (result.data !== undefined) out[key] = result.data;
  }
  return out as SettingsOf<D>;
}

/** A copy of `o` without its undefined properties (for `exactOptionalPropertyTypes` and zod's strict objects). */
export function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off"]);

/** Schemas for settings given as text (a flag's already-parsed number or boolean is accepted as well). */
export const envText = {
  /** a finite number */
  number: () =>
    z.coerce
      .number({ error: "must be a number" })
      .refine((n) => Number.isFinite(n), "must be a finite number"),
  /** a whole number from `min` to `max` (`message` replaces "must be a whole number ...") */
  int: (min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER, message?: string) => {
    const range =
      message ??
      (min === Number.MIN_SAFE_INTEGER && max === Number.MAX_SAFE_INTEGER
        ? "must be a whole number"
        : max === Number.MAX_SAFE_INTEGER
          ? `must be a whole number of at least ${min}`
          : `must be a whole number from ${min} to ${max}`);
    return z.coerce
      .number({ error: message ?? "must be a whole number" })
      .int(message ?? "must be a whole number")
      .min(min, range)
      .max(max, range);
  },
  /** 1/0, true/false, yes/no, on/off (any case) */
  bool: () =>
    z.union([z.boolean(), z.string()]).transform((v, ctx) => {
      if (typeof v === "boolean") return v;
      const t = v.trim().toLowerCase();
      if (TRUE.has(t)) return true;
      if (FALSE.has(t)) return false;
      ctx.addIssue({ code: "custom", message: "must be true or false (1/0, yes/no, on/off)" });
      return z.NEVER;
    }),
  /** text as given */
  string: () => z.string({ error: "must be text" }),
  /** comma-separated items, each trimmed, empty ones dropped */
  list: () =>
    z
      .union([z.string(), z.array(z.string())])
      .transform((v) => (Array.isArray(v) ? v : v.split(",")).map((s) => s.trim()).filter((s) => s !== "")),
  /**
   * a list whose items may hold commas (job type names): a JSON array of strings when the text starts with
   * `[` (`["a, b", "c.d"]`), else comma-separated like `list`; items trimmed, empty ones dropped
   */
  nameList: () =>
    z.union([z.string(), z.array(z.string())]).transform((v, ctx): string[] => {
      let items: unknown = v;
      if (typeof v === "string" && v.trimStart().startsWith("[")) {
        try {
          items = JSON.parse(v) as unknown;
        } catch (err) {
          ctx.addIssue({
            code: "custom",
            message: `must be a JSON array of names (${(err as Error).message})`,
          });
          return z.NEVER;
        }
        if (!Array.isArray(items) || !items.every((i) => typeof i === "string")) {
          ctx.addIssue({ code: "custom", message: "must be a JSON array of strings" });
          return z.NEVER;
        }
      } else if (typeof v === "string") {
        items = v.split(",");
      }
      return (items as string[]).map((s) => s.trim()).filter((s) => s !== "");
    }),
  /** JSON text, parsed */
  json: () =>
    z.string().transform((s, ctx): unknown => {
      try {
        return JSON.parse(s) as unknown;
      } catch (err) {
        ctx.addIssue({ code: "custom", message: `must be JSON (${(err as Error).message})` });
        return z.NEVER;
      }
    }),
};
