/**
 * Limits every edge applies, and the one walk that measures nesting without recursion.
 *
 *   MAX_ARGS_DEPTH      a job's `args` nest at most 32 levels (INVALID_ARGUMENT, field `args`)
 *   MAX_PAYLOAD_DEPTH   a decoded payload nests at most 64 levels (decode refuses deeper ones)
 *   DEFAULT_MAX_JOB_BYTES      a stored job (definition + state, msgpack) is at most 64 KiB unless the
 *                              scheduler's operator sets `maxJobBytes`
 *   DEFAULT_MIN_INTERVAL_SECONDS  `intervalSeconds` is at least 1 unless the operator sets
 *                              `minIntervalSeconds`
 *
 * Why a depth limit at all: msgpackr and JSON.stringify recurse, and a value a few thousand levels deep
 * overflows the stack wherever it is encoded next (the store write, a log line, the reply). JSON.parse does
 * not overflow, so a deep JSON request decodes fine and would fail later as INTERNAL; measuring it right
 * after decoding, iteratively, keeps it a typed error.
 */

export const MAX_ARGS_DEPTH = 32;
export const MAX_PAYLOAD_DEPTH = 64;
export const DEFAULT_MAX_JOB_BYTES = 64 * 1024;
export const DEFAULT_MIN_INTERVAL_SECONDS = 1;

/**
 * The path to the first value that sits deeper than `maxDepth` container levels below `value`, or
 * `undefined` when nothing does. `value` itself, if an object or array, is level 1. Iterative (an explicit
 * stack), so any depth is measured without growing the call stack; it stops at the first offender.
 */
export function pathDeeperThan(value: unknown, maxDepth: number): (string | number)[] | undefined {
  if (!isContainer(value)) return undefined;
  // each frame: the container, its level, and the key that led to it (the path is rebuilt from parents)
  const stack: { v: object; depth: number; key: string | number; parent: number }[] = [
    { v: value, depth: 1, key: "", parent: -1 },
  ];
  const frames: { key: string | number; parent: number }[] = [];
  while (stack.length > 0) {
    const f = stack.pop()!;
    const at = frames.push({ key: f.key, parent: f.parent }) - 1;
    if (f.depth > maxDepth) return pathOf(frames, at);
    const entries: [string | number, unknown][] = Array.isArray(f.v)
      ? f.v.map((x, i) => [i, x] as [number, unknown])
      : Object.entries(f.v);
    for (const [k, child] of entries) {
      if (isContainer(child)) stack.push({ v: child, depth: f.depth + 1, key: k, parent: at });
    }
  }
  return undefined;
}

function isContainer(v: unknown): v is object {
  // typed arrays (msgpack bin) are leaves: their bytes are not nested values
  return typeof v === "object" && v !== null && !ArrayBuffer.isView(v);
}

function pathOf(frames: { key: string | number; parent: number }[], at: number): (string | number)[] {
  const path: (string | number)[] = [];
  for (let i = at; frames[i]!.parent !== -1; i = frames[i]!.parent) path.unshift(frames[i]!.key);
  return path;
}

/** A path for a message: the first few keys, then an ellipsis (a path 20,000 keys long says nothing more). */
export function shortPath(path: readonly (string | number)[], root?: string, keep = 4): string {
  const parts = root ? [root, ...path.map(String)] : path.map(String);
  return parts.length > keep ? `${parts.slice(0, keep).join(".")}.…` : parts.join(".") || "(root)";
}
