/**
 * taskjet's own DST rules (`single-value`, `no-wildcard`) for the quartz dialect, as a layer over a
 * local-time matcher: `nextLocal(L)` is the first matching wall time strictly after wall time L, both as
 * "wall ms" (the local date and time read as if it were UTC), with no zone involved.
 *
 * The rules are croner's, which the standard dialect uses:
 * - an interval job (wildcards or steps in sec/min/hour) fires at every instant whose wall time matches:
 *   wall times in a spring gap do not exist, a repeated hour fires in both passes;
 * - a fixed-time job fires once per matching wall time: in a fall overlap at the first occurrence only;
 *   in a spring gap once, at the instant the gap ends (several matches in one gap fire once).
 * Which jobs are fixed-time is the rule's business (QuartzExpression.singleValueTime / noWildcardTime).
 *
 * The walk goes segment by segment: between two transitions the offset is constant, so wall time and
 * instant map one to one and a match in the segment is `nextLocal` minus the offset.
 */
import type { ZoneRules } from "./zoneRules.js";

export function nextWithDstLayer(
  nextLocal: (wallMs: number) => number | undefined,
  rules: ZoneRules,
  afterMs: number,
  fixedTime: boolean,
): number | undefined {
  if (!Number.isFinite(afterMs)) return undefined;
  // first instant that may fire: fire times are whole seconds strictly after afterMs
  let from = Math.floor(afterMs / 1000) * 1000 + 1000;
  for (let segments = 0; segments < 10_000; segments++) {
    const offset = rules.offsetAt(from);
    const end = rules.transitionAfter(from)?.at ?? Infinity;
    let low = from - 1 + offset; // matches strictly after this wall time lie at or after `from`
    if (fixedTime) {
      // just after a fall-back transition: wall times the previous segment already showed are repeats
      const prev = rules.transitionAtOrBefore(from);
      if (prev && prev.before > prev.after && from < prev.at + (prev.before - prev.after)) {
        low = Math.max(low, prev.at + prev.before - 1);
      }
    }
    const wall = nextLocal(low);
    if (wall === undefined) return undefined;
    const at = wall - offset;
    if (at < end) return at;
    const next = rules.transitionAfter(from)!;
    // a fixed time inside the spring gap [end + before, end + after) runs once, when the gap ends
    if (fixedTime && next.after > next.before && wall < end + next.after) return end;
    from = end;
  }
  return undefined;
}
