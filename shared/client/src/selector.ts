/**
 * The targets of the bulk operations: one id, many ids, every job matching a filter, or `{ all: true }`
 * (an empty filter is refused: "every job" is said out loud).
 */
import { parseOrThrow, SelectorSchema, type ListFilter, type Selector } from "@taskjet/protocol";

/** A single id, a list of ids, `{ filter }`, `{ all: true }`, or a protocol Selector. */
export type Target = string | readonly string[] | Selector;

export function toSelector(target: Target, extra: { force?: boolean } = {}): Selector {
  let selector: Selector;
  if (typeof target === "string") selector = { id: target };
  else if (Array.isArray(target)) selector = { ids: [...(target as readonly string[])] };
  else selector = { ...(target as Selector) };
  if (extra.force !== undefined) selector.force = extra.force;
  parseOrThrow(SelectorSchema, selector);
  return selector;
}

/** True when the target names exactly one job (then a failed result throws instead of being returned). */
export function isSingle(target: Target): target is string {
  return typeof target === "string";
}

export type { ListFilter };
