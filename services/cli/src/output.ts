/** Human tables and key/value blocks; `--json` output is plain JSON.stringify. */

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export function table(headers: string[], rows: (string | number | undefined)[][]): string {
  const cells = rows.map((r) => r.map((c) => (c === undefined || c === "" ? "-" : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...cells.map(line)].join("\n") + "\n";
}

export function keyValues(pairs: [string, unknown][]): string {
  const shown = pairs.filter(([, v]) => v !== undefined);
  const width = Math.max(...shown.map(([k]) => k.length));
  return (
    shown
      .map(
        ([k, v]) => `${(k + ":").padEnd(width + 2)}${typeof v === "object" ? JSON.stringify(v) : String(v)}`,
      )
      .join("\n") + "\n"
  );
}

export function printJson(io: Io, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

/** `2026-01-31T12:00:00.000Z` -> `2026-01-31 12:00:00Z` (tables are narrow enough to read). */
export function shortTime(iso: string | undefined): string | undefined {
  if (!iso) return undefined;
  return iso.replace("T", " ").replace(/\.\d{3}Z$/, "Z");
}
